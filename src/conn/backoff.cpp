#include "enftun/conn/backoff.hpp"

#include <algorithm>
#include <random>

namespace enftun::conn {

Backoff::Backoff(Options opts, Random random) : opts_(opts), random_(std::move(random)) {
    // A base of at least 1 ms keeps the ceiling growing (0 doubles to 0: a
    // hot reconnect loop) and bounds attempt_ by the 64 doublings to the cap.
    opts_.cap_ms = std::max({opts_.cap_ms, opts_.floor_ms, std::uint64_t{1}});
    opts_.base_ms =
        std::clamp(opts_.base_ms, std::max(opts_.floor_ms, std::uint64_t{1}), opts_.cap_ms);
}

std::uint64_t Backoff::current_ceiling() const {
    // Saturate at the cap: doubling past half of it could wrap around.
    std::uint64_t ceiling = opts_.base_ms;
    for (unsigned i = 0; i < attempt_ && ceiling < opts_.cap_ms; ++i) {
        ceiling = ceiling > opts_.cap_ms / 2 ? opts_.cap_ms : ceiling * 2;
    }
    return ceiling;
}

std::uint64_t Backoff::next_delay() {
    std::uint64_t ceiling = current_ceiling();
    if (ceiling < opts_.cap_ms) {
        ++attempt_;
    }
    return opts_.floor_ms + random_(ceiling - opts_.floor_ms);
}

void Backoff::resume(unsigned attempt) {
    attempt_ = 0;
    while (attempt_ < attempt && current_ceiling() < opts_.cap_ms) {
        ++attempt_;
    }
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
