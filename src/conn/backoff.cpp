#include "enftun/conn/backoff.hpp"

#include <algorithm>
#include <random>

namespace enftun::conn {

Backoff::Backoff(Options opts, Random random) : opts_(opts), random_(std::move(random)) {
    opts_.cap_ms = std::max(opts_.cap_ms, opts_.floor_ms);
    opts_.base_ms = std::clamp(opts_.base_ms, opts_.floor_ms, opts_.cap_ms);
}

std::uint64_t Backoff::current_ceiling() const {
    // Stop doubling once past the cap so the shift cannot overflow.
    std::uint64_t ceiling = opts_.base_ms;
    for (unsigned i = 0; i < attempt_ && ceiling < opts_.cap_ms; ++i) {
        ceiling *= 2;
    }
    return std::min(ceiling, opts_.cap_ms);
}

std::uint64_t Backoff::next_delay() {
    std::uint64_t ceiling = current_ceiling();
    if (ceiling < opts_.cap_ms) {
        ++attempt_;
    }
    return opts_.floor_ms + random_(ceiling - opts_.floor_ms);
}

void Backoff::on_connection_ended(std::uint64_t up_since_ms, std::uint64_t now_ms) {
    if (now_ms >= up_since_ms && now_ms - up_since_ms >= opts_.stable_ms) {
        attempt_ = 0;
    }
}

Backoff::Random system_random() {
    return [](std::uint64_t bound) {
        static std::mt19937_64 gen{std::random_device{}()};
        return std::uniform_int_distribution<std::uint64_t>(0, bound)(gen);
    };
}

} // namespace enftun::conn
