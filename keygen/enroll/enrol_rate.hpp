// Enrolments per login and hour (enroll.max_enrolments_per_hour): a token
// bucket per user that holds up to the limit and refills at the limit per
// hour, so a login may enrol that many devices at once and then that many
// per hour. A stolen operator password (or a runaway provisioning script)
// takes addresses from the pool at that rate at most, besides
// max_active_per_user's total.
//
// A request takes a token before it is served (take) and hands it back
// when it fails (give_back), so that requests running at once cannot pass
// the limit together and a refused request (409, 400...) costs nothing.
// Only logins reach it (a valid bearer token): at most one entry per user
// in the users file. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace enftun::enroll {

class EnrolRate {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kPeriod{3600};

    // per_hour 0: no limit.
    explicit EnrolRate(std::uint32_t per_hour) : per_hour_(per_hour) {}

    // Takes one enrolment of user's; 0 when taken, else the whole seconds
    // (at least 1) until one is free: Retry-After.
    std::uint32_t take(const std::string& user, Clock::time_point now = Clock::now());
    // Hands back what take() took (the request failed).
    void give_back(const std::string& user);

private:
    // In units of an enrolment / (kPeriod in ms): the bucket refills by
    // per_hour_ units each millisecond, in integers.
    struct Bucket {
        std::int64_t level = 0;
        Clock::time_point updated;
    };
    std::int64_t capacity() const;
    const std::uint32_t per_hour_;
    std::mutex mutex_;
    std::map<std::string, Bucket, std::less<>> users_;
};

} // namespace enftun::enroll
