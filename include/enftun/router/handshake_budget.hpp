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
// - all sources together hold at most max_handshakes; when full, one entry
//   is evicted to admit the new one: the oldest entry of the source holding
//   the most entries (ties: the source whose oldest entry is oldest). A
//   flood from many sources (many /64s, each under its cap) then evicts its
//   own entries first; a real client's single pending handshake goes last,
//   only once every source holds one. With all sources at one entry each
//   this is plain oldest-first.
//   Cost: O(log entries) per admit() and release().
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
#include <set>
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
        std::optional<Id> evicted{}; // dropped to make room (see above)
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

    // A source's entries by id: ids grow with admission, so begin() is its
    // oldest.
    using SourceIds = std::set<Id>;
    // The eviction order of sources: most entries first, then the one whose
    // oldest entry is oldest. (count, oldest) is unique: ids belong to one
    // source.
    struct Rank {
        std::size_t count;
        Id oldest;
        SourceKey source;
    };
    struct RankOrder {
        bool operator()(const Rank& a, const Rank& b) const {
            return a.count != b.count ? a.count > b.count : a.oldest < b.oldest;
        }
    };

    void erase(List::iterator it);
    // Drops `source`'s rank before a change to its ids, and puts it back
    // (if it still holds any) after.
    void unrank(const SourceKey& source, const SourceIds& ids);
    void rank(const SourceKey& source, const SourceIds& ids);

    Options opts_;
    Id next_id_ = 1;
    List entries_; // oldest first: admission order
    std::unordered_map<Id, List::iterator> by_id_;
    std::unordered_map<SourceKey, SourceIds, SourceKeyHash> per_source_;
    std::set<Rank, RankOrder> ranks_; // one per source in per_source_
};

} // namespace enftun::router
