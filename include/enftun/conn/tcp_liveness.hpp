// TcpLiveness: the kernel-side dead-path detection on the tunnel socket
// (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT, RFC 5482),
// derived from the heartbeat settings so the two agree.
//
// Why both the heartbeat and these: the heartbeat (PROTOCOL.md "Liveness")
// watches what we *receive*. A path that dies only towards the router (we
// still receive, but nothing we send is acknowledged) looks alive to it,
// and under steady upload on a dead path it needs a full quiet period before
// it even probes. TCP_USER_TIMEOUT watches what we *send*: once data has
// stayed unacknowledged that long the kernel aborts the connection
// (ETIMEDOUT), the link reports an error and the client reconnects.
//
// Values (tcp_liveness_for):
//  - user timeout = max(2 * heartbeat_timeout, 10 s). Longer than the
//    heartbeat timeout on purpose: on an idle link the heartbeat probe is
//    the first unacknowledged data, so the heartbeat reports a black hole
//    first (with its own log line) and TCP only catches what the heartbeat
//    cannot see. The 10 s floor keeps a few ordinary retransmissions
//    (RTO starts at 200 ms and doubles) from killing a healthy connection
//    when the heartbeat timeout is set very short. Since Linux 4.19 the
//    retransmission timer is clamped to the user timeout, so the abort
//    happens on time rather than at the next backed-off RTO.
//  - keepalive idle = heartbeat_period + heartbeat_timeout, interval =
//    heartbeat_timeout / 3, 3 probes. An answered heartbeat always comes
//    before the idle time runs out, so keepalive never fires while the
//    heartbeat works; it is a backstop that lets the kernel tear down a
//    connection on its own if the heartbeat ever stalls. With a user
//    timeout set, Linux ends an unanswered keepalive on whichever of the
//    user timeout and the probe count comes first (tcp_keepalive_timer).
#pragma once

#include "enftun/util/result.hpp"

#include <cstdint>

namespace enftun::conn {

struct TcpLiveness {
    std::uint32_t user_timeout_ms = 0;      // TCP_USER_TIMEOUT; 0 = kernel default
    std::uint32_t keepalive_idle_s = 0;     // TCP_KEEPIDLE; 0 = keepalive off
    std::uint32_t keepalive_interval_s = 0; // TCP_KEEPINTVL
    std::uint32_t keepalive_count = 0;      // TCP_KEEPCNT
};

// Pure: the settings for a heartbeat of period/timeout (milliseconds).
// Every value is clamped to what the kernel accepts (1..32767 s for the
// keepalive times, at most INT_MAX ms for the user timeout).
TcpLiveness tcp_liveness_for(std::uint64_t heartbeat_period_ms, std::uint64_t heartbeat_timeout_ms);

// Applies l to the TCP socket fd (any state; before connect() is fine).
// Errors: System (sys = errno of the failing setsockopt).
Status apply_tcp_liveness(int fd, const TcpLiveness& l);

// Reads the settings back (for tests and diagnostics); keepalive fields
// are 0 when SO_KEEPALIVE is off. Errors: System.
Result<TcpLiveness> read_tcp_liveness(int fd);

} // namespace enftun::conn
