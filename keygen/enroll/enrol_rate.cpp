#include "enroll/enrol_rate.hpp"

#include <algorithm>

namespace enftun::enroll {

namespace {

constexpr std::int64_t kCost = std::chrono::milliseconds(EnrolRate::kPeriod).count();

} // namespace

std::int64_t EnrolRate::capacity() const {
    return static_cast<std::int64_t>(per_hour_) * kCost;
}

std::uint32_t EnrolRate::take(const std::string& user, Clock::time_point now) {
    if (per_hour_ == 0) {
        return 0;
    }
    std::lock_guard lock(mutex_);
    auto [it, fresh] = users_.try_emplace(user, Bucket{capacity(), now});
    Bucket& b = it->second;
    if (!fresh && now > b.updated) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - b.updated).count();
        // Whole milliseconds are credited (the rest counts next time); a
        // period or more fills it (and nothing can overflow).
        const std::int64_t credit = std::min<std::int64_t>(ms, kCost) * per_hour_;
        if (b.level + credit >= capacity()) {
            b.level = capacity();
            b.updated = now;
        } else {
            b.level += credit;
            b.updated += std::chrono::milliseconds(ms);
        }
    }
    if (b.level >= kCost) {
        b.level -= kCost;
        return 0;
    }
    const std::int64_t wait_ms = (kCost - b.level + per_hour_ - 1) / per_hour_;
    return static_cast<std::uint32_t>(std::max<std::int64_t>(1, (wait_ms + 999) / 1000));
}

void EnrolRate::give_back(const std::string& user) {
    if (per_hour_ == 0) {
        return;
    }
    std::lock_guard lock(mutex_);
    if (auto it = users_.find(user); it != users_.end()) {
        it->second.level = std::min(capacity(), it->second.level + kCost);
    }
}

} // namespace enftun::enroll
