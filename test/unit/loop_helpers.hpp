// loop_helpers.hpp: run a real libuv loop in a unit test until a condition
// holds or the loop runs dry, under a watchdog timer. The watchdog is a guard
// against hangs, never a timing assertion: when it fires the test fails.
//
// The watchdog is unref'd (uv_unref), so it never keeps the loop alive: when
// run() returns without a stop(), nothing is left that could call back, and
// "no callback ever comes" can be asserted exactly.
//
// Lifetime: a Watchdog borrows the Loop, which must outlive it. Keep both in
// the test's setup/teardown state (a failed assert longjmps past the
// destructors of locals) and reset the Watchdog before the Loop.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "enftun/loop/loop.hpp"

#include "test.hpp"

namespace test_loop {

// Far beyond anything these tests wait for.
constexpr std::uint64_t kWatchdogMs = 10000;

class Watchdog {
public:
    explicit Watchdog(enftun::loop::Loop& loop)
        : loop_(loop), timer_(loop, [this] {
              fired_ = true;
              loop_.stop();
          }) {
        timer_.unref();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    // Runs the loop until something stops it or nothing is left to run;
    // fails the test if the watchdog fires first.
    void run(const char* what) {
        timer_.start(kWatchdogMs);
        loop_.run();
        timer_.stop();
        if (fired_) {
            fail_msg("watchdog fired waiting for: %s", what);
        }
    }

    // Runs the loop until nothing is left to run (no handle, no request).
    void run_dry() { run("the loop to run dry"); }

    // Runs the loop until done() holds, checked at once and then from every
    // callback that calls check_done(). Fails the test if the watchdog fires
    // or the loop runs dry first.
    void run_until(std::function<bool()> done, const char* what) {
        done_ = std::move(done);
        if (!done_()) {
            run(what);
        }
        bool ok = done_();
        done_ = nullptr;
        if (!ok) {
            fail_msg("the loop ran dry waiting for: %s", what);
        }
    }

    // Stops the loop when run_until()'s condition holds: call it from the
    // callbacks that may make it true.
    void check_done() {
        if (done_ && done_()) {
            loop_.stop();
        }
    }

private:
    enftun::loop::Loop& loop_; // borrowed, outlives this
    enftun::loop::Timer timer_;
    std::function<bool()> done_;
    bool fired_ = false;
};

} // namespace test_loop
