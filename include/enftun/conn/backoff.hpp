// Backoff: the reconnect delay schedule. Exponential growth from `base` to
// `cap`, with "full jitter" (a uniform draw between a small floor and the
// current ceiling) so that a fleet cut off at the same moment does not come
// back in lockstep. Pure: the random source is injected, time is passed in.
//
//   attempt:  0     1     2     3   ...   n
//   ceiling:  base  2b    4b    8b  ...   min(cap, base * 2^n)
//   delay:    uniform[floor, ceiling]
//
// A connection that stayed up for at least `stable_ms` resets the schedule
// (remote.reconnect_stable_period; a flapping router that accepts and then
// drops us keeps the grown delays instead of a hot loop at `base`).
#pragma once

#include <cstdint>
#include <functional>

namespace enftun::conn {

class Backoff {
public:
    // Returns a uniform value in [0, bound] (bound inclusive).
    using Random = std::function<std::uint64_t(std::uint64_t bound)>;

    struct Options {
        std::uint64_t base_ms = 1000;
        std::uint64_t cap_ms = 60000;
        std::uint64_t floor_ms = 100; // never reconnect in a hot loop
        std::uint64_t stable_ms = 30000;
    };

    Backoff(Options opts, Random random);

    // The delay before the next attempt; advances the schedule.
    std::uint64_t next_delay();
    // The ceiling the next call to next_delay() will draw under.
    std::uint64_t current_ceiling() const;
    // Call when a connection that came up at up_since_ms ended at now_ms.
    void on_connection_ended(std::uint64_t up_since_ms, std::uint64_t now_ms);
    void reset() { attempt_ = 0; }
    // Continues a schedule at `attempt` (an earlier run's attempt(),
    // conn/backoff_record.hpp), clamped to the first attempt whose ceiling
    // is the cap: the next delay draws under that ceiling.
    void resume(unsigned attempt);
    // New options (a config reload); the schedule's position is kept.
    void set_options(Options opts) { opts_ = opts; }
    unsigned attempt() const { return attempt_; }

private:
    Options opts_;
    Random random_;
    unsigned attempt_ = 0;
};

// A Random drawing from a process-wide generator seeded from the OS.
Backoff::Random system_random();

} // namespace enftun::conn
