// Bearer tokens handed out by /v1/login: 32 random bytes (hex), valid for
// kTokenLifetime, kept in memory only (a restart logs everyone out). Bounded:
// at most kMaxTokens live at once; when full, expired ones go first, then
// the oldest. Thread-safe (the HTTP server calls from its pool).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace enftun::enroll {

class TokenStore {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kTokenLifetime{300};
    static constexpr std::size_t kMaxTokens = 10000;

    // A new token for user. Empty if the random generator failed.
    std::string issue(const std::string& user, Clock::time_point now = Clock::now());
    // The user a live token belongs to.
    std::optional<std::string> user_of(const std::string& token,
                                       Clock::time_point now = Clock::now());

private:
    struct Entry {
        std::string user;
        Clock::time_point expires;
    };
    void make_room(Clock::time_point now);

    std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> tokens_;
};

} // namespace enftun::enroll
