#include "enftun/control/answer_budget.hpp"

#include <algorithm>

namespace enftun::control {

AnswerBudget::AnswerBudget(std::uint32_t per_second, std::uint32_t burst)
    : per_second_(per_second),
      cap_milli_(static_cast<std::int64_t>(std::max<std::uint32_t>(burst, 1)) * 1000),
      milli_(cap_milli_) {}

bool AnswerBudget::ready(std::uint64_t now_ms) {
    if (per_second_ == 0) {
        return true;
    }
    if (!started_) {
        started_ = true;
        last_ms_ = now_ms;
    }
    if (now_ms > last_ms_) {
        // per_second tokens a second are per_second thousandths a ms. The
        // gap is capped first so the product cannot overflow.
        std::uint64_t gap = std::min<std::uint64_t>(now_ms - last_ms_, 1000ULL * 1000 * 1000);
        std::int64_t refill = static_cast<std::int64_t>(gap) * per_second_;
        milli_ = std::min(cap_milli_, milli_ + refill);
        last_ms_ = now_ms;
    }
    return milli_ >= 1000;
}

bool AnswerBudget::take(std::uint64_t now_ms) {
    if (!ready(now_ms)) {
        return false;
    }
    if (per_second_ != 0) {
        milli_ -= 1000;
    }
    return true;
}

std::uint64_t AnswerBudget::ms_until_token() const {
    if (per_second_ == 0 || milli_ >= 1000) {
        return 0;
    }
    const auto missing = static_cast<std::uint64_t>(1000 - milli_);
    return (missing + per_second_ - 1) / per_second_;
}

void AnswerBudget::charge(std::size_t bytes) {
    charge_growth(0, bytes);
}

void AnswerBudget::charge_growth(std::size_t before, std::size_t after) {
    if (per_second_ == 0 || after <= before) {
        return;
    }
    const std::size_t crossed = after / kBytesPerToken - before / kBytesPerToken;
    milli_ -= static_cast<std::int64_t>(crossed) * 1000;
}

std::string busy_line(std::uint32_t per_second) {
    return "error: busy: at most " + std::to_string(per_second) + " answers a second, try again\n";
}

} // namespace enftun::control
