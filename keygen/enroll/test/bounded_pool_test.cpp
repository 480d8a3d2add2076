// BoundedPool: jobs beyond threads + max_waiting run at once on the
// caller's thread through the refuse path; every job runs exactly once and
// closes the socket it owns (as httplib's connection jobs do), whether it
// ran on a pool thread, waited, or was refused; counts.
#include "enroll/bounded_pool.hpp"

#include "test.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using enftun::enroll::BoundedPool;

namespace {

constexpr std::size_t kMaxJobs = 16;

thread_local bool t_refusing = false;

struct JobRecord {
    int peer = -1;            // the test's end of the job's socket pair
    std::atomic<int> runs{0}; // how often the job ran
    std::atomic<bool> refused{false};
    std::atomic<bool> on_caller{false};
};

struct Fixture {
    std::thread::id caller = std::this_thread::get_id();
    std::mutex mutex;
    std::condition_variable cv;
    bool gate_open = false;
    JobRecord jobs[kMaxJobs];
    std::size_t made = 0;
    BoundedPool::Stats last_refusal;
    std::unique_ptr<BoundedPool> pool;

    void refuse(BoundedPool::Job& job, const BoundedPool::Stats& stats) {
        last_refusal = stats;
        t_refusing = true;
        job();
        t_refusing = false;
    }

    // A job that owns one end of a socket pair and closes it when done;
    // blocking: it first waits for the gate.
    BoundedPool::Job make_job(bool blocking) {
        int sv[2];
        assert_int_equal(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        JobRecord& rec = jobs[made++];
        rec.peer = sv[1];
        const int own = sv[0];
        return [this, &rec, own, blocking] {
            rec.runs++;
            rec.refused = t_refusing;
            rec.on_caller = std::this_thread::get_id() == caller;
            if (blocking) {
                std::unique_lock lock(mutex);
                cv.wait(lock, [this] { return gate_open; });
            }
            ::close(own);
        };
    }

    void open_gate() {
        {
            std::lock_guard lock(mutex);
            gate_open = true;
        }
        cv.notify_all();
    }

    // Waits (at most 10 s: a hang guard, not a timing assertion) until
    // `running` jobs are on the threads.
    bool wait_running(std::size_t running) {
        for (int i = 0; i < 10000; ++i) {
            if (pool->stats().running == running) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return false;
    }
};

// The job's end of the pair is closed: the peer reads EOF at once.
bool closed(const JobRecord& rec) {
    char c;
    return ::recv(rec.peer, &c, 1, MSG_DONTWAIT) == 0;
}

int setup(void** state) {
    auto* f = new Fixture;
    *state = f;
    return 0;
}

int teardown(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->open_gate();
    f->pool.reset();
    for (std::size_t i = 0; i < f->made; ++i) {
        ::close(f->jobs[i].peer);
    }
    delete f;
    return 0;
}

BoundedPool::RefuseFn refuse_into(Fixture* f) {
    return [f](BoundedPool::Job& job, const BoundedPool::Stats& s) { f->refuse(job, s); };
}

void test_full_pool_refuses_on_caller_thread(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->pool = std::make_unique<BoundedPool>(2, 3, refuse_into(f));
    assert_true(f->pool->enqueue(f->make_job(true)));
    assert_true(f->pool->enqueue(f->make_job(true)));
    assert_true(f->wait_running(2));
    for (int i = 0; i < 3; ++i) {
        assert_true(f->pool->enqueue(f->make_job(false)));
    }
    assert_int_equal(f->pool->stats().waiting, 3);
    assert_int_equal(f->pool->stats().refused, 0);
    for (std::size_t i = 5; i < 9; ++i) {
        assert_false(f->pool->enqueue(f->make_job(false)));
        // Refused: it has run, on this thread, and closed its socket.
        assert_int_equal(f->jobs[i].runs.load(), 1);
        assert_true(f->jobs[i].refused.load());
        assert_true(f->jobs[i].on_caller.load());
        assert_true(closed(f->jobs[i]));
    }
    assert_int_equal(f->last_refusal.running, 2);
    assert_int_equal(f->last_refusal.waiting, 3);
    assert_int_equal(f->last_refusal.refused, 4);
    for (std::size_t i = 0; i < 5; ++i) {
        assert_false(closed(f->jobs[i])); // still held, running or waiting
    }
    f->open_gate();
    f->pool->shutdown();
    for (std::size_t i = 0; i < 9; ++i) {
        assert_int_equal(f->jobs[i].runs.load(), 1);
        assert_true(closed(f->jobs[i]));
    }
    for (std::size_t i = 0; i < 5; ++i) {
        assert_false(f->jobs[i].refused.load());
        assert_false(f->jobs[i].on_caller.load());
    }
    const auto s = f->pool->stats();
    assert_int_equal(s.running, 0);
    assert_int_equal(s.waiting, 0);
    assert_int_equal(s.refused, 4);
}

// max_waiting 0: a job for an idle thread is queued even before the thread
// has taken it; one more than the threads is refused.
void test_no_waiting_room_still_fills_idle_threads(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->pool = std::make_unique<BoundedPool>(2, 0, refuse_into(f));
    assert_true(f->pool->enqueue(f->make_job(true)));
    assert_true(f->pool->enqueue(f->make_job(true)));
    assert_false(f->pool->enqueue(f->make_job(false)));
    assert_true(f->jobs[2].refused.load());
    assert_true(closed(f->jobs[2]));
    f->open_gate();
    f->pool->shutdown();
    assert_true(closed(f->jobs[0]));
    assert_true(closed(f->jobs[1]));
    assert_int_equal(f->pool->stats().refused, 1);
}

// shutdown() runs what waits; a job after it is refused, never dropped.
void test_shutdown_runs_waiting_jobs(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->pool = std::make_unique<BoundedPool>(1, 4, refuse_into(f));
    for (int i = 0; i < 5; ++i) {
        assert_true(f->pool->enqueue(f->make_job(i == 0)));
    }
    f->open_gate();
    f->pool->shutdown();
    f->pool->shutdown(); // idempotent
    for (std::size_t i = 0; i < 5; ++i) {
        assert_int_equal(f->jobs[i].runs.load(), 1);
        assert_true(closed(f->jobs[i]));
    }
    assert_false(f->pool->enqueue(f->make_job(false)));
    assert_true(f->jobs[5].refused.load());
    assert_true(closed(f->jobs[5]));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_pool_refuses_on_caller_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_waiting_room_still_fills_idle_threads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_runs_waiting_jobs, setup, teardown),
    };
    return cmocka_run_group_tests_name("bounded_pool", tests, nullptr, nullptr);
}
