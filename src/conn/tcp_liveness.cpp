#include "enftun/conn/tcp_liveness.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace enftun::conn {

namespace {

// include/net/tcp.h: MAX_TCP_KEEPIDLE and MAX_TCP_KEEPINTVL.
constexpr std::uint64_t kMaxKeepaliveSeconds = 32767;
constexpr std::uint64_t kMinUserTimeoutMs = 10000;
constexpr std::uint32_t kKeepaliveCount = 3;

std::uint32_t seconds_clamped(std::uint64_t ms) {
    std::uint64_t s = ms / 1000 + (ms % 1000 != 0 ? 1 : 0); // round up
    return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(s, 1, kMaxKeepaliveSeconds));
}

Status set_int(int fd, int level, int name, std::uint32_t value, const char* what) {
    int v = static_cast<int>(value);
    if (setsockopt(fd, level, name, &v, sizeof v) != 0) {
        return make_error(Errc::System, what, errno);
    }
    return {};
}

Result<std::uint32_t> get_int(int fd, int level, int name, const char* what) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0) {
        return make_error(Errc::System, what, errno);
    }
    return static_cast<std::uint32_t>(v);
}

} // namespace

TcpLiveness tcp_liveness_for(std::uint64_t heartbeat_period_ms,
                             std::uint64_t heartbeat_timeout_ms) {
    // Saturate rather than wrap on absurd configured values.
    constexpr std::uint64_t kMaxMs = 0x7fffffff; // TCP_USER_TIMEOUT is an int
    std::uint64_t period = std::min(heartbeat_period_ms, kMaxMs);
    std::uint64_t timeout = std::min(heartbeat_timeout_ms, kMaxMs);
    TcpLiveness l;
    l.user_timeout_ms =
        static_cast<std::uint32_t>(std::clamp(2 * timeout, kMinUserTimeoutMs, kMaxMs));
    l.keepalive_idle_s = seconds_clamped(period + timeout);
    l.keepalive_interval_s = seconds_clamped(timeout / 3);
    l.keepalive_count = kKeepaliveCount;
    return l;
}

Status apply_tcp_liveness(int fd, const TcpLiveness& l) {
    if (l.user_timeout_ms != 0) {
        if (auto st = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, l.user_timeout_ms,
                              "cannot set TCP_USER_TIMEOUT");
            !st) {
            return st;
        }
    }
    if (l.keepalive_idle_s == 0) {
        return {};
    }
    // The tunables first, so keepalive never runs with the system defaults
    // (2 hours idle) even for a moment.
    if (auto st =
            set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, l.keepalive_idle_s, "cannot set TCP_KEEPIDLE");
        !st) {
        return st;
    }
    if (auto st = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, std::max(l.keepalive_interval_s, 1u),
                          "cannot set TCP_KEEPINTVL");
        !st) {
        return st;
    }
    if (auto st = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, std::max(l.keepalive_count, 1u),
                          "cannot set TCP_KEEPCNT");
        !st) {
        return st;
    }
    return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "cannot set SO_KEEPALIVE");
}

Result<TcpLiveness> read_tcp_liveness(int fd) {
    TcpLiveness l;
    auto user = get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, "cannot read TCP_USER_TIMEOUT");
    auto on = get_int(fd, SOL_SOCKET, SO_KEEPALIVE, "cannot read SO_KEEPALIVE");
    auto idle = get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "cannot read TCP_KEEPIDLE");
    auto intvl = get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, "cannot read TCP_KEEPINTVL");
    auto cnt = get_int(fd, IPPROTO_TCP, TCP_KEEPCNT, "cannot read TCP_KEEPCNT");
    for (const auto* r : {&user, &on, &idle, &intvl, &cnt}) {
        if (!*r) {
            return r->error();
        }
    }
    l.user_timeout_ms = *user;
    if (*on != 0) {
        l.keepalive_idle_s = *idle;
        l.keepalive_interval_s = *intvl;
        l.keepalive_count = *cnt;
    }
    return l;
}

} // namespace enftun::conn
