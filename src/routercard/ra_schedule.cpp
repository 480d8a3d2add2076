#include "enftun/routercard/ra_schedule.hpp"

#include <algorithm>

namespace enftun::tunnel {

std::optional<std::uint64_t> RaSchedule::next_deadline() const {
    std::optional<std::uint64_t> d;
    const auto take = [&d](std::uint64_t t) { d = d ? std::min(*d, t) : t; };
    if (pending_) {
        take(last_sent_ms_ ? *last_sent_ms_ + min_gap_ms_ : 0);
    }
    if (solicited_ms_) {
        take(*solicited_ms_);
    }
    // Nothing pending waits longer than the periodic RA would.
    if (last_sent_ms_) {
        take(*last_sent_ms_ + period_ms_);
    }
    return d;
}

void RaSchedule::solicit(std::uint64_t now_ms, std::uint64_t delay_ms) {
    if (solicited_ms_) {
        return; // RFC 4861 §6.2.6: the delay counts from the first solicitation
    }
    const std::uint64_t from =
        last_sent_ms_ ? std::max(now_ms, *last_sent_ms_ + min_gap_ms_) : now_ms;
    solicited_ms_ = from + delay_ms;
}

bool RaSchedule::due(std::uint64_t now_ms) const {
    const auto deadline = next_deadline();
    return deadline && now_ms >= *deadline;
}

void RaSchedule::on_sent(std::uint64_t now_ms) {
    pending_ = false;
    solicited_ms_.reset();
    last_sent_ms_ = now_ms;
}

} // namespace enftun::tunnel
