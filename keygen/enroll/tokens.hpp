// Bearer tokens handed out by /v1/login: 32 random bytes (hex), valid for
// kTokenLifetime, kept in memory only (a restart logs everyone out). Each
// token is good for one certificate: /v1/enroll claims it for the time of
// its request (a concurrent request with the same token is refused), then
// consumes it when a certificate was issued, or hands it back when the
// request failed (a taken address, a malformed CSR...), so that the operator
// can retry until it expires. Bounded: at most kMaxTokens live (or used) at
// once; when full, expired ones go first, then the oldest. Thread-safe (the
// HTTP server calls from its pool).
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

    // Why a token does not authorize a request; each is a 401.
    enum class Refusal {
        Unknown, // missing, never issued, expired or evicted
        InUse,   // claimed by a request still in progress
        Used,    // a certificate was issued with it already
    };

    // A new token for user. Empty if the random generator failed.
    std::string issue(const std::string& user, Clock::time_point now = Clock::now());
    // The user a live, unused token belongs to (a cheap check before a
    // request's body is parsed; claim() is the one that counts).
    std::optional<std::string> user_of(const std::string& token,
                                       Clock::time_point now = Clock::now());
    // Claims a live, unused, unclaimed token for one request: its user, or
    // why not. Exactly one of any number of concurrent claims succeeds.
    // The claim ends with consume() or release().
    std::optional<std::string> claim(const std::string& token, Refusal* why = nullptr,
                                     Clock::time_point now = Clock::now());
    // The claimed token issued a certificate: never good again.
    void consume(const std::string& token);
    // The claimed token's request failed: good again until it expires.
    void release(const std::string& token);

    // One line for a 401 answer.
    static const char* message(Refusal why);

private:
    enum class Use { Free, Claimed, Used };
    struct Entry {
        std::string user;
        Clock::time_point expires;
        Use use = Use::Free;
    };
    void make_room(Clock::time_point now);

    std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> tokens_;
};

// Holds a claim for the length of a request: released when it goes out of
// scope unless consume() was called (any early return hands it back).
class TokenClaim {
public:
    TokenClaim(TokenStore& store, std::string token) : store_(store), token_(std::move(token)) {}
    ~TokenClaim() {
        if (!consumed_) {
            store_.release(token_);
        }
    }
    TokenClaim(const TokenClaim&) = delete;
    TokenClaim& operator=(const TokenClaim&) = delete;
    void consume() {
        store_.consume(token_);
        consumed_ = true;
    }

private:
    TokenStore& store_; // outlives the claim
    std::string token_;
    bool consumed_ = false;
};

} // namespace enftun::enroll
