// Unit tests for loop/loop: the RAII wrappers over a real libuv loop. Timers
// are one-shot and re-armable, stop() and active() agree, a Poll reports
// readability and stops, a Signal delivers, an FsEvent names the entry
// renamed into a watched folder, and wrappers destroyed before
// (or while) the loop runs close their handles: no callback reaches the
// dead owner, ASan sees no leak, and the loop can be closed (Loop's
// destructor asserts uv_loop_close() == 0; we also count handles).
//
// Waits run the loop until it runs dry, guarded by a 10 s watchdog timer
// that does not keep the loop alive. Callbacks only record.
#include "enftun/loop/loop.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "enftun/util/unique_fd.hpp"

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::UniqueFd;
using enftun::loop::FsEvent;
using enftun::loop::Idle;
using enftun::loop::Loop;
using enftun::loop::Poll;
using enftun::loop::Signal;
using enftun::loop::Timer;

namespace {

using test_loop::kWatchdogMs;

struct State {
    std::optional<Loop> loop;
    std::optional<test_loop::Watchdog> watchdog;
    std::optional<Timer> a;
    std::optional<Timer> b;
    std::optional<Poll> poll;
    std::optional<Signal> signal;
    std::optional<Idle> idle;
    std::optional<FsEvent> fs_event;
    std::string dir; // mkdtemp folder of the FsEvent test
    std::vector<std::string> fs_names;
    int idle_runs = 0;
    UniqueFd fds[2];
    int fired_a = 0;
    int fired_b = 0;
    int rearm = 0; // times a's callback restarts it
    std::vector<int> poll_events;
    std::vector<int> poll_status;
    std::vector<int> signals;
};
std::optional<State> g;

// Handles still known to the loop (closing ones included): 0 means that
// uv_loop_close() will succeed.
int handle_count() {
    int n = 0;
    uv_walk(
        g->loop->get(), [](uv_handle_t*, void* arg) { ++*static_cast<int*>(arg); }, &n);
    return n;
}

void make_a() {
    g->a.emplace(*g->loop, [] {
        ++g->fired_a;
        if (g->rearm > 0) {
            --g->rearm;
            g->a->start(1);
        }
    });
}

void make_socket_pair() {
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    g->fds[0].reset(fds[0]);
    g->fds[1].reset(fds[1]);
}

void test_timer_fires_once(void**) {
    make_a();
    g->a->start(5);
    assert_true(g->a->active());
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 1);
    assert_false(g->a->active());
}

void test_timer_restart_from_callback_rearms(void**) {
    make_a();
    g->rearm = 3;
    g->a->start(0);
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 4);
}

void test_timer_start_again_replaces(void**) {
    make_a();
    g->a->start(kWatchdogMs * 10); // would trip the watchdog if it stayed
    g->a->start(0);                // re-arms the same one-shot timer
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 1);
}

void test_timer_fires_again_after_loop_ran_dry(void**) {
    make_a();
    g->a->start(0);
    g->watchdog->run_dry();
    g->a->start(0);
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 2);
}

void test_timer_stop(void**) {
    make_a();
    g->a->start(0);
    g->a->stop();
    assert_false(g->a->active());
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 0);
}

void test_stop_returns_from_run(void**) {
    make_a();
    g->a->start(kWatchdogMs * 10); // keeps the loop alive
    g->b.emplace(*g->loop, [] {
        ++g->fired_b;
        g->loop->stop();
    });
    g->b->start(0);
    g->watchdog->run("b to stop the loop"); // fails if the watchdog fires
    assert_int_equal(g->fired_b, 1);
    assert_true(g->a->active());
    g->a->stop();
}

// stop() while the loop is not running leaves libuv's stop flag set; the
// destructor must still run the pending close callbacks (it aborts if a
// handle outlives the loop).
void test_stop_outside_run_then_destroy(void**) {
    auto loop = std::make_unique<enftun::loop::Loop>();
    {
        enftun::loop::Timer t(*loop, [] {});
        t.start(1000);
    }
    loop->stop();
    loop.reset();
}

void test_destroy_before_run_closes_handles(void**) {
    make_a();
    g->a->start(0);
    make_socket_pair();
    g->poll.emplace(*g->loop, g->fds[0].get(), [](int, int) { g->poll_events.push_back(-1); });
    g->poll->watch(UV_READABLE | UV_WRITABLE); // writable at once
    g->a.reset();
    g->poll.reset();
    g->watchdog->run_dry(); // runs the close callbacks, which free the handles
    assert_int_equal(g->fired_a, 0);
    assert_int_equal(g->poll_events.size(), 0);
    assert_int_equal(handle_count(), 1); // only the watchdog is left
}

void test_destroy_from_another_callback(void**) {
    // b is due with a; a destroys b first: b's callback must never run.
    g->a.emplace(*g->loop, [] {
        ++g->fired_a;
        g->b.reset();
    });
    g->b.emplace(*g->loop, [] { ++g->fired_b; });
    g->a->start(0);
    g->b->start(0); // same due time, started later: runs after a
    g->watchdog->run_dry();
    assert_int_equal(g->fired_a, 1);
    assert_int_equal(g->fired_b, 0);
}

void test_poll_reports_readable(void**) {
    make_socket_pair();
    g->poll.emplace(*g->loop, g->fds[0].get(), [](int status, int events) {
        g->poll_status.push_back(status);
        g->poll_events.push_back(events);
        g->poll->watch(0); // one event is enough; lets the loop run dry
    });
    g->poll->watch(UV_READABLE);
    assert_int_equal(g->poll->watching(), UV_READABLE);
    assert_int_equal(::write(g->fds[1].get(), "x", 1), 1);
    g->watchdog->run_dry();
    assert_int_equal(g->poll_events.size(), 1);
    assert_int_equal(g->poll_status[0], 0);
    assert_true((g->poll_events[0] & UV_READABLE) != 0);
    assert_int_equal(g->poll->watching(), 0);
}

void test_poll_not_ready_keeps_quiet(void**) {
    make_socket_pair();
    g->poll.emplace(*g->loop, g->fds[0].get(), [](int, int events) {
        g->poll_events.push_back(events);
        g->poll->watch(0);
    });
    g->poll->watch(UV_READABLE);
    // Nothing to read: stop after one loop turn via a timer.
    g->a.emplace(*g->loop, [] { g->poll->watch(0); });
    g->a->start(20);
    g->watchdog->run_dry();
    assert_int_equal(g->poll_events.size(), 0);
}

// An active Idle runs once per loop iteration and keeps the loop from
// blocking: 100 iterations pass long before a 2 s timer is due (if the poll
// blocked, each would wait for that timer).
void test_idle_spins_without_blocking(void**) {
    g->a.emplace(*g->loop, [] { ++g->fired_a; });
    g->a->start(2000);
    g->idle.emplace(*g->loop, [] {
        if (++g->idle_runs == 100) {
            g->idle->stop();
            g->a->stop();
        }
    });
    assert_false(g->idle->active());
    g->idle->start();
    g->idle->start(); // a second start changes nothing
    assert_true(g->idle->active());
    g->watchdog->run_dry();
    assert_int_equal(g->idle_runs, 100);
    assert_int_equal(g->fired_a, 0);
    assert_false(g->idle->active());
}

void test_signal_delivers(void**) {
    g->signal.emplace(*g->loop, SIGUSR1, [](int signum) {
        g->signals.push_back(signum);
        g->b->start(0); // never destroy a handle inside its own callback
    });
    g->b.emplace(*g->loop, [] { g->signal.reset(); });
    // The handle keeps the loop alive until the callback drops it.
    g->a.emplace(*g->loop, [] { raise(SIGUSR1); });
    g->a->start(0);
    g->watchdog->run_dry();
    assert_int_equal(g->signals.size(), 1);
    assert_int_equal(g->signals[0], SIGUSR1);
}

void test_fs_event_names_a_renamed_entry(void**) {
    char tmpl[] = "/tmp/enftun-loop-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    g->dir = tmpl;
    g->fs_event.emplace(*g->loop, [](const char* name) {
        g->fs_names.emplace_back(name != nullptr ? name : "");
        if (g->fs_names.back() == "cert.pem") {
            g->b->start(0); // the watch goes, so the loop runs dry
        }
    });
    g->b.emplace(*g->loop, [] { g->fs_event.reset(); });
    assert_int_equal(g->fs_event->start(g->dir), 0);
    // As enftun-keygen writes: a temporary file renamed over the target.
    g->a.emplace(*g->loop, [] {
        std::ofstream(g->dir + "/.cert.pem.tmp") << "new\n";
        std::rename((g->dir + "/.cert.pem.tmp").c_str(), (g->dir + "/cert.pem").c_str());
    });
    g->a->start(0);
    g->watchdog->run_dry();
    assert_false(g->fs_names.empty());
    assert_string_equal(g->fs_names.back().c_str(), "cert.pem");
    assert_int_equal(FsEvent(*g->loop, [](const char*) {}).start(g->dir + "/none"), UV_ENOENT);
}

int setup(void**) {
    g.emplace();
    g->loop.emplace();
    g->watchdog.emplace(*g->loop);
    return 0;
}

int teardown(void**) {
    g->fs_event.reset();
    if (!g->dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(g->dir, ec);
    }
    g->signal.reset();
    g->idle.reset();
    g->poll.reset();
    g->a.reset();
    g->b.reset();
    g->watchdog.reset();
    g->loop.reset(); // asserts uv_loop_close() == 0
    g.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_fires_once, setup, teardown),
        cmocka_unit_test(test_stop_outside_run_then_destroy),
        cmocka_unit_test_setup_teardown(test_timer_restart_from_callback_rearms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_start_again_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_fires_again_after_loop_ran_dry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_returns_from_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_before_run_closes_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_from_another_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_reports_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_not_ready_keeps_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_spins_without_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_event_names_a_renamed_entry, setup, teardown),
    };
    return cmocka_run_group_tests_name("loop", tests, nullptr, nullptr);
}
