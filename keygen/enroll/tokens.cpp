#include "enroll/tokens.hpp"

#include <openssl/rand.h>

#include <algorithm>

namespace enftun::enroll {

void TokenStore::make_room(Clock::time_point now) {
    // Claimed tokens stay until their request ends, even past their expiry
    // (their release() or consume() finds them); the rest go when expired.
    std::erase_if(tokens_, [&](const auto& kv) {
        return kv.second.expires <= now && kv.second.use != Use::Claimed;
    });
    while (tokens_.size() >= kMaxTokens) {
        auto oldest = std::min_element(tokens_.begin(), tokens_.end(), [](auto& a, auto& b) {
            return a.second.expires < b.second.expires;
        });
        tokens_.erase(oldest);
    }
}

std::string TokenStore::issue(const std::string& user, Clock::time_point now) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return {};
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string token;
    for (const unsigned char b : bytes) {
        token += kDigits[b >> 4];
        token += kDigits[b & 15];
    }
    std::lock_guard lock(mutex_);
    make_room(now);
    tokens_.insert_or_assign(token, Entry{user, now + kTokenLifetime, Use::Free});
    return token;
}

std::optional<std::string> TokenStore::user_of(const std::string& token, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end() || it->second.use == Use::Used) {
        return std::nullopt;
    }
    if (it->second.expires <= now) {
        if (it->second.use == Use::Free) {
            tokens_.erase(it);
        }
        return std::nullopt;
    }
    return it->second.user;
}

std::optional<std::string> TokenStore::claim(const std::string& token, Refusal* why,
                                             Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    Refusal refusal = Refusal::Unknown;
    if (it != tokens_.end() && it->second.expires > now) {
        if (it->second.use == Use::Free) {
            it->second.use = Use::Claimed;
            return it->second.user;
        }
        refusal = it->second.use == Use::Claimed ? Refusal::InUse : Refusal::Used;
    }
    if (why != nullptr) {
        *why = refusal;
    }
    return std::nullopt;
}

void TokenStore::consume(const std::string& token) {
    std::lock_guard lock(mutex_);
    // Kept (bounded like the rest) until it expires, so that a second use
    // is told why it is refused.
    if (const auto it = tokens_.find(token); it != tokens_.end()) {
        it->second.use = Use::Used;
    }
}

void TokenStore::release(const std::string& token) {
    std::lock_guard lock(mutex_);
    if (const auto it = tokens_.find(token);
        it != tokens_.end() && it->second.use == Use::Claimed) {
        it->second.use = Use::Free;
    }
}

const char* TokenStore::message(Refusal why) {
    switch (why) {
    case Refusal::InUse:
        return "token is in use by another request (one certificate per login)";
    case Refusal::Used:
        return "token already used: one certificate per login; log in again";
    default:
        return "missing, unknown or expired token";
    }
}

} // namespace enftun::enroll
