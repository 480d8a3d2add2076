// HandshakeBudget: the router's admission policy for unauthenticated
// connections (accepted, not yet through the TLS handshake). Pure state: no
// sockets, no timers; the router feeds it events and acts on its answers.
//
//   accept ──admit()──► Waiting ──first_bytes()──► Handshaking ──release()──► gone
//      │                   │                            │
//      │ source at its     │ first_byte_timeout         │ (TlsLink's handshake
//      │ cap: Refused      │ passed: expired()          │  timer, on the router)
//      ▼                   ▼                            ▼
//    closed         closed by the router          release() by the router
//
// Limits (router.max_handshakes, router.max_handshakes_per_source):
// - each source (an IPv4 address, or an IPv6 /64: one subscriber usually
//   holds a whole /64, so counting single addresses would give it 2^64
//   slots) holds at most max_per_source entries; one more is refused;
// - all sources together hold at most max_handshakes; when full, the OLDEST
//   entry is evicted to admit the new one. A flood can then only delay a
//   real client by pushing max_handshakes newer connections in before its
//   handshake ends, instead of keeping it out for as long as it lasts.
//
// Lifetime: ids are never reused; release() of an unknown id is a no-op, so
// the router may release what was already evicted or expired.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace enftun::router {

// Who counts as one source: the IPv4 address (as ::ffff:a.b.c.d), or the
// IPv6 address with its low 64 bits cleared.
struct SourceKey {
    std::array<std::uint8_t, 16> bytes{};
    bool operator==(const SourceKey&) const = default;
};

struct SourceKeyHash {
    std::size_t operator()(const SourceKey& k) const noexcept;
};

// The source key of an accepted peer's address (AF_INET or AF_INET6; an
// IPv4-mapped IPv6 address counts as its IPv4 address).
SourceKey source_key(const sockaddr_storage& peer);

class HandshakeBudget {
public:
    using Id = std::uint64_t;

    struct Options {
        std::size_t max_handshakes = 256;
        std::size_t max_per_source = 16;
        std::uint64_t first_byte_timeout_ms = 3000;
    };

    struct Admission {
        bool admitted = false;       // false: the source is at its cap
        Id id = 0;                   // valid iff admitted
        std::optional<Id> evicted{}; // the oldest entry, dropped to make room
    };

    explicit HandshakeBudget(Options opts) : opts_(opts) {}
    // New limits (a config reload), for the next admit() and expire():
    // entries already admitted stay, even above a lowered cap.
    void set_options(Options opts) { opts_ = opts; }

    Admission admit(const SourceKey& source, std::uint64_t now_ms);
    // The connection sent its first bytes: no longer subject to the
    // first-byte timeout (its handshake_timeout is the router's).
    void first_bytes(Id id);
    // The connection authenticated or died: its slot is free.
    void release(Id id);
    // Removes and returns the entries still waiting for their first bytes
    // whose first_byte_timeout has passed at now_ms.
    // Walks the entries oldest first and stops at the first waiting one that
    // is still in time: O(entries), for a periodic timer.
    std::vector<Id> expire(std::uint64_t now_ms);

    std::size_t size() const { return entries_.size(); }
    std::size_t count(const SourceKey& source) const;

private:
    struct Entry {
        Id id;
        SourceKey source;
        std::uint64_t admitted_ms;
        bool waiting; // no bytes yet
    };
    using List = std::list<Entry>;

    void erase(List::iterator it);

    Options opts_;
    Id next_id_ = 1;
    List entries_; // oldest first: admission order
    std::unordered_map<Id, List::iterator> by_id_;
    std::unordered_map<SourceKey, std::size_t, SourceKeyHash> per_source_;
};

} // namespace enftun::router
