// Heartbeat: runs HeartbeatPolicy on one timer and speaks its probe, an
// ICMPv6 echo request from our address to the router's fe80::1
// (PROTOCOL.md "Liveness"). The matching reply is consumed here and never
// reaches the TUN.
//
// Timers: one, re-armed for HeartbeatPolicy::next_deadline() each time it
// fires; nothing is touched per packet except a timestamp (on_rx).
//
// Lifetime: owned by the client; send and on_dead are called from the timer
// callback and must not destroy the Heartbeat.
#pragma once

#include "enftun/heartbeat/heartbeat_policy.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"

#include <array>
#include <functional>

namespace enftun::heartbeat {

class Heartbeat {
public:
    using Send = std::function<void(Bytes packet)>;
    using OnDead = std::function<void()>;

    Heartbeat(loop::Loop& loop, std::uint64_t period_ms, std::uint64_t timeout_ms,
              proto::Ipv6Addr self, Send send, OnDead on_dead);

    void on_up();
    void on_down();
    void on_rx() { policy_.on_rx(loop_.now_ms()); }
    // Sends a probe now unless an unanswered one is already out (e.g. after a
    // route change; a probe already answered does not count).
    void probe_now();
    // New period and timeout (a config reload), in force at once.
    void set_timing(std::uint64_t period_ms, std::uint64_t timeout_ms);
    // True if pkt is the reply to one of our probes; the caller then drops it.
    // The reply to the latest probe also gives its round-trip time.
    bool consume(Bytes pkt);

    std::uint64_t probes_sent() const { return probes_sent_; }
    // The round trip of the last answered probe, in microseconds, and when
    // (loop ms) it was measured; 0 if none yet.
    std::uint64_t last_rtt_us() const { return last_rtt_us_; }
    std::uint64_t last_rtt_at_ms() const { return last_rtt_at_ms_; }

private:
    void on_timer();
    void arm();
    void send_probe();

    loop::Loop& loop_; // outlives the heartbeat
    HeartbeatPolicy policy_;
    proto::Ipv6Addr self_;
    Send send_;
    OnDead on_dead_;
    loop::Timer timer_;
    std::uint16_t id_;
    std::uint16_t seq_ = 0;
    std::uint64_t probes_sent_ = 0;
    std::uint64_t probe_sent_ns_ = 0; // when probe seq_ went out (loop::hrtime_ns)
    std::uint64_t last_rtt_us_ = 0;
    std::uint64_t last_rtt_at_ms_ = 0;
    bool running_ = false;
    std::array<std::uint8_t, 64> probe_buf_{};
};

} // namespace enftun::heartbeat
