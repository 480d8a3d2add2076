#include "enftun/routercard/reply_budget.hpp"

#include <algorithm>

namespace enftun::tunnel {

bool ReplyBudget::take(std::uint64_t now_ms) {
    if (!started_) {
        started_ = true;
        last_ms_ = now_ms;
    }
    if (now_ms > last_ms_) {
        // kPerSecond tokens a second are kPerSecond thousandths a ms; the gap
        // is capped at a refill from empty so the product cannot overflow.
        const std::uint64_t gap = std::min<std::uint64_t>(now_ms - last_ms_, 1000ULL * kBurst);
        milli_tokens_ = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(kBurst * 1000ULL, milli_tokens_ + gap * kPerSecond));
        last_ms_ = now_ms;
    }
    if (milli_tokens_ < 1000) {
        return false;
    }
    milli_tokens_ -= 1000;
    return true;
}

} // namespace enftun::tunnel
