#include "enroll/bounded_pool.hpp"

#include <cassert>
#include <utility>

namespace enftun::enroll {

BoundedPool::BoundedPool(std::size_t threads, std::size_t max_waiting, RefuseFn refuse)
    : threads_(threads), max_waiting_(max_waiting), refuse_(std::move(refuse)) {
    assert(threads_ >= 1 && refuse_);
    workers_.reserve(threads_);
    for (std::size_t i = 0; i < threads_; ++i) {
        workers_.emplace_back([this] { work(); });
    }
}

BoundedPool::~BoundedPool() {
    shutdown();
}

bool BoundedPool::enqueue(Job job) {
    Stats after;
    {
        std::lock_guard lock(mutex_);
        // Running plus waiting, not waiting alone: a job handed to an idle
        // thread that has not taken it yet must not count as one too many.
        if (!stopping_ && stats_.running + jobs_.size() < threads_ + max_waiting_) {
            jobs_.push_back(std::move(job));
            stats_.waiting = jobs_.size();
            wake_.notify_one();
            return true;
        }
        ++stats_.refused;
        after = stats_;
    }
    refuse_(job, after);
    return false;
}

void BoundedPool::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && workers_.empty()) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) {
        t.join();
    }
    workers_.clear();
}

BoundedPool::Stats BoundedPool::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void BoundedPool::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) {
            return; // stopping, and nothing left to run
        }
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        stats_.waiting = jobs_.size();
        ++stats_.running;
        lock.unlock();
        job();
        job = nullptr; // its captures go before the count says it is done
        lock.lock();
        --stats_.running;
    }
}

} // namespace enftun::enroll
