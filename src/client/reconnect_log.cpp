#include "enftun/client/reconnect_log.hpp"

#include <utility>

namespace enftun::tunnel {

namespace {

struct Pattern {
    std::string_view prefix;
    ReconnectReason reason;
};

// The texts of client.cpp and link/tls_link.cpp, most specific first.
constexpr Pattern kPatterns[] = {
    {"heartbeat", ReconnectReason::Heartbeat},
    {"route change", ReconnectReason::RouteChange},
    {"identity renewed", ReconnectReason::IdentityRenewed},
    {"peer closed", ReconnectReason::PeerClosed},
    {"TLS handshake failed: peer sent close_notify", ReconnectReason::PeerClosed},
    {"protocol error", ReconnectReason::ProtocolError},
    {"TLS handshake timed out", ReconnectReason::HandshakeTimeout},
    {"TLS handshake failed", ReconnectReason::HandshakeFailed},
    {"TLS read failed", ReconnectReason::TlsError},
    {"TLS write failed", ReconnectReason::TlsError},
    {"TLS stream", ReconnectReason::TlsError},
    {"socket error", ReconnectReason::SocketError},
    {"connect failed", ReconnectReason::ConnectFailed},
};

} // namespace

ReconnectReason classify_reconnect(std::string_view reason) {
    for (const Pattern& p : kPatterns) {
        if (reason.starts_with(p.prefix)) {
            return p.reason;
        }
    }
    return ReconnectReason::Other;
}

const char* to_string(ReconnectReason reason) {
    switch (reason) {
    case ReconnectReason::Heartbeat:
        return "heartbeat";
    case ReconnectReason::RouteChange:
        return "route_change";
    case ReconnectReason::IdentityRenewed:
        return "identity_renewed";
    case ReconnectReason::PeerClosed:
        return "peer_closed";
    case ReconnectReason::ProtocolError:
        return "protocol_error";
    case ReconnectReason::HandshakeTimeout:
        return "handshake_timeout";
    case ReconnectReason::HandshakeFailed:
        return "handshake_failed";
    case ReconnectReason::TlsError:
        return "tls_error";
    case ReconnectReason::SocketError:
        return "socket_error";
    case ReconnectReason::ConnectFailed:
        return "connect_failed";
    case ReconnectReason::Other:
    case ReconnectReason::Count_:
        break;
    }
    return "other";
}

void ReconnectLog::record(std::string_view text, bool was_up, std::int64_t now,
                          std::uint64_t up_ms) {
    ReconnectEntry e;
    e.at = now;
    e.reason = classify_reconnect(text);
    last_reason_ = e.reason;
    e.text.assign(text.substr(0, kMaxReasonText));
    e.was_up = was_up;
    e.up_ms = was_up ? up_ms : 0;
    auto& counts = was_up ? lost_ : failed_;
    ++counts[static_cast<std::size_t>(e.reason)];
    if (was_up) {
        lost_recent_.push() = e;
    }
    recent_.push() = std::move(e);
}

std::uint64_t ReconnectLog::tunnels_lost(ReconnectReason r) const {
    return lost_[static_cast<std::size_t>(r)];
}

std::uint64_t ReconnectLog::attempts_failed(ReconnectReason r) const {
    return failed_[static_cast<std::size_t>(r)];
}

std::uint64_t ReconnectLog::tunnels_lost_total() const {
    std::uint64_t n = 0;
    for (auto c : lost_) {
        n += c;
    }
    return n;
}

std::uint64_t ReconnectLog::attempts_failed_total() const {
    std::uint64_t n = 0;
    for (auto c : failed_) {
        n += c;
    }
    return n;
}

} // namespace enftun::tunnel
