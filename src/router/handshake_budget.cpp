#include "enftun/router/handshake_budget.hpp"

#include <netinet/in.h>

#include <cstring>

namespace enftun::router {

namespace {
// ::ffff:0:0/96 (RFC 4291 section 2.5.5.2).
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
} // namespace

std::size_t SourceKeyHash::operator()(const SourceKey& k) const noexcept {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, k.bytes.data(), 8);
    std::memcpy(&lo, k.bytes.data() + 8, 8);
    return std::hash<std::uint64_t>{}(hi ^ (lo * 0x9e3779b97f4a7c15ULL));
}

SourceKey source_key(const sockaddr_storage& peer) {
    SourceKey key;
    if (peer.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &peer, sizeof sin);
        std::memcpy(key.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
        std::memcpy(key.bytes.data() + 12, &sin.sin_addr, 4);
        return key;
    }
    if (peer.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &peer, sizeof sin6);
        std::memcpy(key.bytes.data(), &sin6.sin6_addr, 16);
        if (std::memcmp(key.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) != 0) {
            std::memset(key.bytes.data() + 8, 0, 8); // the /64
        }
    }
    return key; // another family (never from a TCP listener): all in one
}

HandshakeBudget::Admission HandshakeBudget::admit(const SourceKey& source, std::uint64_t now_ms) {
    Admission a;
    if (auto it = per_source_.find(source);
        it != per_source_.end() && it->second.size() >= opts_.max_per_source) {
        return a; // refused: the source is at its cap
    }
    if (entries_.size() >= opts_.max_handshakes && !ranks_.empty()) {
        // The oldest entry of the source holding the most.
        const Id victim = *per_source_.at(ranks_.begin()->source).begin();
        a.evicted = victim;
        erase(by_id_.at(victim));
    }
    a.admitted = true;
    a.id = next_id_++;
    entries_.push_back({a.id, source, now_ms, true});
    by_id_.emplace(a.id, std::prev(entries_.end()));
    SourceIds& ids = per_source_[source];
    unrank(source, ids);
    ids.insert(a.id);
    rank(source, ids);
    return a;
}

void HandshakeBudget::first_bytes(Id id) {
    if (auto it = by_id_.find(id); it != by_id_.end()) {
        it->second->waiting = false;
    }
}

void HandshakeBudget::release(Id id) {
    if (auto it = by_id_.find(id); it != by_id_.end()) {
        erase(it->second);
    }
}

std::vector<HandshakeBudget::Id> HandshakeBudget::expire(std::uint64_t now_ms) {
    std::vector<Id> expired;
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto cur = it++;
        if (!cur->waiting) {
            continue;
        }
        if (now_ms - cur->admitted_ms < opts_.first_byte_timeout_ms) {
            break; // admission order: every later one is younger
        }
        expired.push_back(cur->id);
        erase(cur);
    }
    return expired;
}

std::size_t HandshakeBudget::count(const SourceKey& source) const {
    auto it = per_source_.find(source);
    return it == per_source_.end() ? 0 : it->second.size();
}

void HandshakeBudget::erase(List::iterator it) {
    if (auto src = per_source_.find(it->source); src != per_source_.end()) {
        unrank(src->first, src->second);
        src->second.erase(it->id);
        if (src->second.empty()) {
            per_source_.erase(src);
        } else {
            rank(src->first, src->second);
        }
    }
    by_id_.erase(it->id);
    entries_.erase(it);
}

void HandshakeBudget::unrank(const SourceKey& source, const SourceIds& ids) {
    if (!ids.empty()) {
        ranks_.erase(Rank{ids.size(), *ids.begin(), source});
    }
}

void HandshakeBudget::rank(const SourceKey& source, const SourceIds& ids) {
    if (!ids.empty()) {
        ranks_.insert(Rank{ids.size(), *ids.begin(), source});
    }
}

} // namespace enftun::router
