// IdleTrimPolicy: when a tunnel that moved packets has gone quiet, say so
// once, so the client can hand back what the burst grew: the link's frame
// buffers and OpenSSL's record buffers. Without it, that heap stays at the
// burst's level for as long as the tunnel is idle.
//
// The owner calls on_tick() once per period (the client uses its heartbeat
// period, the operator's own measure of "idle") with its packet count so far:
//
//   Busy ──tick, no packets since the last tick──► Trim (returns true once)
//    ▲                                               │
//    └───────────tick, packets moved─────────────────┘
//
// After a trim, further quiet ticks return false: one trim per quiet spell.
// Pure state machine: no timers, no syscalls.
#pragma once

#include <cstdint>

namespace enftun::tunnel {

class IdleTrimPolicy {
public:
    // True if the owner should trim now: packets moved before the previous
    // tick, none since, and no trim since they moved.
    bool on_tick(std::uint64_t packets);
    // The owner trimmed on its own (e.g. right after connecting) with this
    // packet count: quiet ticks from here on need no further trim.
    void on_trimmed(std::uint64_t packets);

private:
    std::uint64_t last_packets_ = 0;
    bool trimmed_ = true; // nothing has grown before the first packet
};

} // namespace enftun::tunnel
