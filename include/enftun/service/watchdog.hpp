// Watchdog: WATCHDOG=1 to the service manager from the event loop, at half
// the interval systemd asks for (WatchdogSec= in the unit, WATCHDOG_USEC in
// our environment; sd_watchdog_enabled(3)). The pings come from a loop timer,
// so a loop that hangs stops them and systemd restarts the service (the
// units' Restart=on-failure). Without WATCHDOG_USEC (or with WATCHDOG_PID
// naming another process) start() does nothing: no timer, no wake-ups.
//
// Timers: one, re-armed each time it fires; unref'd, so it never keeps a
// finished loop running.
//
// Lifetime: the Notifier and the Loop outlive it.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/service/notifier.hpp"

#include <cstdint>

namespace enftun::service {

class Watchdog {
public:
    Watchdog(loop::Loop& loop, Notifier& notifier);

    // Starts pinging if systemd asked for a watchdog; sends the first ping
    // at once. Returns the ping interval in ms (0: no watchdog).
    std::uint64_t start();
    void stop();

private:
    void on_timer();

    Notifier& notifier_; // outlives the watchdog
    loop::Timer timer_;
    std::uint64_t interval_ms_ = 0;
};

} // namespace enftun::service
