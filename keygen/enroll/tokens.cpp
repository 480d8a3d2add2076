#include "enroll/tokens.hpp"

#include <openssl/rand.h>

#include <algorithm>

namespace enftun::enroll {

void TokenStore::make_room(Clock::time_point now) {
    std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expires <= now; });
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
    tokens_.insert_or_assign(token, Entry{user, now + kTokenLifetime});
    return token;
}

std::optional<std::string> TokenStore::user_of(const std::string& token, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end()) {
        return std::nullopt;
    }
    if (it->second.expires <= now) {
        tokens_.erase(it);
        return std::nullopt;
    }
    return it->second.user;
}

} // namespace enftun::enroll
