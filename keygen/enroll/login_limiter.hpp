// Failed-login rate limiting per source: after kMaxFailures failures within
// kWindow, a source gets 429 (without a password check, so it cannot make
// the service burn scrypt time either) until kWindow has passed since its
// first failure. Other sources are unaffected.
//
// A source is the peer's IPv4 address, or its IPv6 /64 (one host usually
// holds a whole /64, so per-address limits would be trivial to dodge).
// Bounded: at most kMaxSources tracked; when full, expired entries go, then
// the one whose window started first. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace enftun::enroll {

class LoginLimiter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr unsigned kMaxFailures = 5;
    static constexpr std::chrono::seconds kWindow{60};
    static constexpr std::size_t kMaxSources = 4096;

    // Whether a login from remote_addr may be tried now.
    bool allowed(const std::string& remote_addr, Clock::time_point now = Clock::now());
    void record_failure(const std::string& remote_addr, Clock::time_point now = Clock::now());

    // The key remote_addr is counted under ("fd00:1:2:3::/64", "192.0.2.1").
    static std::string source_key(const std::string& remote_addr);

private:
    struct Entry {
        Clock::time_point window_start;
        unsigned failures = 0;
    };
    std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> sources_;
};

} // namespace enftun::enroll
