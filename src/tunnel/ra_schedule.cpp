#include "enftun/tunnel/ra_schedule.hpp"

#include <algorithm>

namespace enftun::tunnel {

std::optional<std::uint64_t> RaSchedule::next_deadline() const {
    if (!last_sent_ms_) {
        return pending_ ? std::optional<std::uint64_t>(0) : std::nullopt;
    }
    // A pending request never waits longer than the periodic RA would.
    return *last_sent_ms_ + (pending_ ? std::min(min_gap_ms_, period_ms_) : period_ms_);
}

bool RaSchedule::due(std::uint64_t now_ms) const {
    const auto deadline = next_deadline();
    return deadline && now_ms >= *deadline;
}

void RaSchedule::on_sent(std::uint64_t now_ms) {
    pending_ = false;
    last_sent_ms_ = now_ms;
}

} // namespace enftun::tunnel
