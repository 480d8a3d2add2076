#include "enftun/link/busy_poller.hpp"

#include <sched.h>

namespace enftun::tunnel {

BusyPoller::BusyPoller(loop::Loop& loop, std::uint32_t window_us)
    : policy_(std::uint64_t{window_us} * 1000), idle_(loop, [this] { on_iteration(); }) {}

void BusyPoller::on_event(Side side, std::size_t packets) {
    if (policy_.on_event(side, packets)) {
        idle_.start();
    }
}

// A spin in progress ends at its next iteration if the window is now over.
void BusyPoller::set_window(std::uint32_t window_us) {
    policy_.set_window(std::uint64_t{window_us} * 1000);
}

void BusyPoller::on_iteration() {
    if (!policy_.on_iteration(loop::hrtime_ns())) {
        idle_.stop();
        return;
    }
    // Both daemons of a tunnel spinning on a 2-core machine left ping and
    // the kernel without a CPU: flood ping then fell to OpenVPN's rate in
    // half the runs; with the yield it stayed at about 3x (bench/README.md).
    sched_yield();
}

} // namespace enftun::tunnel
