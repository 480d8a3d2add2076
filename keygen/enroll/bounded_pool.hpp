// BoundedPool: the threads that serve enftun-enroll's connections, and a
// bounded list of connections waiting for one of them.
//
// httplib's own ThreadPool keeps every accepted connection in an unbounded
// list while its threads are busy (with slow peers, up to their
// ConnectionGuard deadlines): a flood of connections would grow memory and
// descriptors until accept() fails with EMFILE. Here at most `threads`
// connections run and `max_waiting` wait; a job beyond that is refused.
//
// A job is httplib's connection job: it owns the accepted socket and closes
// it when it returns, and nothing else can close it (httplib 0.11's
// enqueue() hands over an opaque std::function). So a job is never dropped:
// a refused one runs at once, on the caller's thread (httplib's accept
// thread), through `refuse`, which must make it end quickly (the service's:
// ConnectionGuard::run_refused, whose handshake fails before reading a byte).
// Running it there also slows the accept loop down to the rate at which
// refusals finish, instead of growing a list.
//
// Threads: enqueue() and shutdown() from one thread (httplib's accept
// thread); stats() from any. No errors.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace enftun::enroll {

class BoundedPool {
public:
    using Job = std::function<void()>;
    struct Stats {
        std::size_t running = 0;   // jobs on a thread now
        std::size_t waiting = 0;   // jobs queued for a thread
        std::uint64_t refused = 0; // since the start
    };
    // Runs a refused job on the calling thread; called without the pool's
    // lock, with the pool's counts after the refusal.
    using RefuseFn = std::function<void(Job& job, const Stats& stats)>;

    // threads >= 1. refuse must not be empty.
    BoundedPool(std::size_t threads, std::size_t max_waiting, RefuseFn refuse);
    ~BoundedPool(); // shutdown()
    BoundedPool(const BoundedPool&) = delete;
    BoundedPool& operator=(const BoundedPool&) = delete;

    // Queues job when fewer than threads + max_waiting jobs are running or
    // waiting; else (or after shutdown) runs it through refuse before
    // returning. Returns whether it was queued.
    bool enqueue(Job job);
    // Lets the threads finish every job already queued, then joins them.
    // Idempotent.
    void shutdown();
    Stats stats() const;

private:
    void work();

    const std::size_t threads_;
    const std::size_t max_waiting_;
    RefuseFn refuse_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    Stats stats_;
    bool stopping_ = false;
    std::vector<std::thread> workers_; // last: started once the rest exists
};

} // namespace enftun::enroll
