// ReconnectLog: why the client's tunnels and connection attempts ended, for
// `enftun status` and the metrics (pure: times come in as arguments). It
// keeps the last kRecent ends with their reason text and time; apart from
// them the last kRecent tunnels lost (with how long each had been up), which
// a long back-off's failed attempts cannot push out; and a count per reason
// class: the class is a short fixed name fit for a metric label
// ("heartbeat", "peer_closed", ...), the text says the rest (an OpenSSL
// error, say), bounded to kMaxReasonText bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::tunnel {

enum class ReconnectReason {
    Heartbeat,        // no answer to a heartbeat probe
    RouteChange,      // the preferred path changed or vanished
    IdentityRenewed,  // a renewed certificate and key
    PeerClosed,       // the router closed the tunnel (close_notify, EOF)
    ProtocolError,    // a malformed frame from the router
    HandshakeTimeout, // the TLS handshake did not finish in time
    HandshakeFailed,  // the TLS handshake failed (certificate refused, ...)
    TlsError,         // a TLS read or write failed
    SocketError,      // the TCP connection failed (reset, timeout)
    ConnectFailed,    // no remote host answered
    Other,
    Count_ // number of reasons; not a reason
};

// The class of a reason text given to Client::on_link_down (TlsLink's
// texts and the client's own), or ConnectFailed for connect_failed.
ReconnectReason classify_reconnect(std::string_view reason);
// Metric label and JSON name: "heartbeat", "route_change", ...
const char* to_string(ReconnectReason reason);

struct ReconnectEntry {
    std::int64_t at = 0; // seconds since the epoch
    ReconnectReason reason = ReconnectReason::Other;
    std::string text;        // as logged, at most kMaxReasonText bytes
    bool was_up = false;     // a tunnel ended (else an attempt failed)
    std::uint64_t up_ms = 0; // was_up: how long the tunnel had been up
};

// The last N entries, oldest first.
template <std::size_t N>
class EntryRing {
public:
    // The slot of a new entry, in place of the oldest once full.
    ReconnectEntry& push() {
        ReconnectEntry& e = ring_[next_];
        next_ = (next_ + 1) % N;
        count_ = count_ < N ? count_ + 1 : N;
        return e;
    }
    std::vector<ReconnectEntry> list() const {
        std::vector<ReconnectEntry> out;
        out.reserve(count_);
        const std::size_t first = (next_ + N - count_) % N;
        for (std::size_t i = 0; i < count_; ++i) {
            out.push_back(ring_[(first + i) % N]);
        }
        return out;
    }

private:
    std::array<ReconnectEntry, N> ring_{};
    std::size_t next_ = 0;  // slot of the next entry
    std::size_t count_ = 0; // entries held, at most N
};

class ReconnectLog {
public:
    static constexpr std::size_t kRecent = 8;
    static constexpr std::size_t kMaxReasonText = 160;

    // A tunnel (was_up; up_ms: how long it had been up) or a connection
    // attempt ended.
    void record(std::string_view text, bool was_up, std::int64_t now, std::uint64_t up_ms = 0);

    // Tunnels and attempts that ended: oldest first, at most kRecent.
    std::vector<ReconnectEntry> recent() const { return recent_.list(); }
    // Tunnels that were up and were lost: oldest first, at most kRecent.
    std::vector<ReconnectEntry> lost() const { return lost_recent_.list(); }
    // Tunnels that ended (was_up), by reason; and failed attempts.
    std::uint64_t tunnels_lost(ReconnectReason r) const;
    std::uint64_t attempts_failed(ReconnectReason r) const;
    std::uint64_t tunnels_lost_total() const;
    std::uint64_t attempts_failed_total() const;
    // The class of the last end recorded (Other before any).
    ReconnectReason last_reason() const { return last_reason_; }

private:
    static constexpr std::size_t kReasons = static_cast<std::size_t>(ReconnectReason::Count_);
    EntryRing<kRecent> recent_;
    EntryRing<kRecent> lost_recent_;
    std::array<std::uint64_t, kReasons> lost_{};
    std::array<std::uint64_t, kReasons> failed_{};
    ReconnectReason last_reason_ = ReconnectReason::Other;
};

} // namespace enftun::tunnel
