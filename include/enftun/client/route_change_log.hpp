// RouteChangeLog: the limit on the client's "route change (...)" lines
// (client.cpp, on_route_change and check_route: one per coalesced batch of
// netlink events, so up to ~7 a second from an uplink that keeps flapping).
// They share one limit: kBurst (20) lines per kIntervalMs (30 s), then nothing but a
// count, written at the interval's end from a timer (so it is not lost when
// the flapping stops) or before the next line let through:
//
//   info: route change: 312 more lines suppressed in the last 30 s (the network keeps changing)
//
// What the client does about each change is unchanged; only its line may be
// left out. Timers: one, armed while a count waits for its line.
// Lifetime: owned by the Client; the loop must outlive it.
#pragma once

#include "enftun/log/log.hpp"
#include "enftun/loop/loop.hpp"

#include <cstdint>

namespace enftun::tunnel {

class RouteChangeLog {
public:
    static constexpr std::uint64_t kIntervalMs = 30000;
    static constexpr unsigned kBurst = 20;

    explicit RouteChangeLog(loop::Loop& loop);

    // Whether a route-change line is to be written now (Info enabled and
    // within the limit); when not, it is counted.
    bool allow();

private:
    void report();

    loop::Loop& loop_; // outlives us
    log::RateLimit limit_{kIntervalMs, kBurst};
    loop::Timer timer_;
};

} // namespace enftun::tunnel
