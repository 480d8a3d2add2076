// HeartbeatPolicy: when to probe the router and when to give up on the path
// (PROTOCOL.md "Liveness"). Pure state machine; the owner runs one timer and
// calls on_timer() when it fires, then re-arms it for next_deadline().
//
//   on_up() ──► Quiet ──(period without rx)──► Probing ──(timeout without rx)──► Dead
//                 ▲                                │
//                 └─────────(any frame received)───┘
//
// Timer while Probing: first after min(period, timeout), where an answer
// already received returns to Quiet (so a period shorter than the timeout
// is kept), then at the timeout. A timer that runs well past the timeout
// (the process was paused) looks once more after a short grace, so that an
// answer that arrived during the pause is read first.
//
// Hooks: on_rx() for every frame received (a timestamp store: cheap enough for
// the data path, no timer is touched per packet); on_probe_requested() when
// something (a route change) wants proof of the path right now.
//
// Why there is no on_tx() hook: only received frames prove the path, and
// PROTOCOL.md starts the probe clock on "no received frame". Letting sent
// data postpone the probe would be wrong: sending while receiving nothing
// is exactly when a probe is useful (the path may be dead and we would
// never find out while the upload lasts). Letting sent data bring the probe
// forward would send extra probes for one-way traffic and change the
// protocol's timing. The case it would cover, data queued towards a dead
// path, is caught below us instead: TCP_USER_TIMEOUT on the tunnel socket
// (conn/tcp_liveness.hpp) aborts the connection when what we sent stays
// unacknowledged, without any per-packet work here. So the data path costs
// one timestamp store per received frame and nothing per sent packet; no
// probe is ever sent because of a single packet.
#pragma once

#include <cstdint>

namespace enftun::heartbeat {

enum class Action { None, SendProbe, Dead };

class HeartbeatPolicy {
public:
    HeartbeatPolicy(std::uint64_t period_ms, std::uint64_t timeout_ms)
        : period_ms_(period_ms), timeout_ms_(timeout_ms) {}

    void on_up(std::uint64_t now_ms);
    void on_rx(std::uint64_t now_ms) {
        last_rx_ms_ = now_ms;
        rx_since_probe_ = true;
    }
    // Asks for a probe at the next on_timer(), unless an unanswered one is
    // out (an answered one counts as done); returns the deadline to arm.
    std::uint64_t on_probe_requested(std::uint64_t now_ms);
    Action on_timer(std::uint64_t now_ms);
    // New timing (a config reload): a quiet path's next probe is due one new
    // period after the last frame; a probe already out keeps its deadline.
    void set_timing(std::uint64_t period_ms, std::uint64_t timeout_ms);
    // Absolute time at which on_timer() should run next.
    std::uint64_t next_deadline() const { return deadline_ms_; }
    bool probing() const { return state_ == State::Probing; }

    // A timer that runs more than kLateMs after a probe's timeout does not
    // declare the path dead at once: it looks again kGraceMs later, after
    // the loop has read what arrived while it was not running.
    static constexpr std::uint64_t kLateMs = 100;
    static constexpr std::uint64_t kGraceMs = 100;

private:
    enum class State { Quiet, Probing, Dead };
    std::uint64_t period_ms_;
    std::uint64_t timeout_ms_;
    State state_ = State::Quiet;
    std::uint64_t last_rx_ms_ = 0;
    std::uint64_t probe_sent_ms_ = 0;
    bool rx_since_probe_ = false;
    bool probe_requested_ = false; // on_probe_requested() while Quiet
    bool grace_taken_ = false;     // this probe's late timer looked once more
    std::uint64_t deadline_ms_ = 0;
};

} // namespace enftun::heartbeat
