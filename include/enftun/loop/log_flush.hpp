// LogFlush: writes the counts of rate-limited lines (ENFTUN_LOG_RATELIMITED,
// log::LimitScope) when their interval ends, so that the count of a flood
// that stopped is not lost waiting for a next line that never comes
// (log::flush_suppressed). Timers: one, armed only while a count waits (the
// log tells it when one starts: log::set_suppressed_hook): a daemon with
// nothing suppressed is never woken by it. It does not keep the loop alive.
// Lifetime: one per process, made by main after the loop; it owns the log's
// hook while it lives, and its destructor writes the counts still waiting.
#pragma once

#include "enftun/loop/loop.hpp"

#include <cstdint>

namespace enftun::loop {

class LogFlush {
public:
    explicit LogFlush(Loop& loop);
    ~LogFlush();
    LogFlush(const LogFlush&) = delete;
    LogFlush& operator=(const LogFlush&) = delete;

private:
    void arm(std::uint64_t due_ms);
    void on_timer();

    Timer timer_;
    std::uint64_t armed_due_ = 0; // monotonic ms the timer is armed for; 0: not armed
};

} // namespace enftun::loop
