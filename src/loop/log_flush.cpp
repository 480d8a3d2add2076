#include "enftun/loop/log_flush.hpp"

#include "enftun/log/log.hpp"

#include <limits>

namespace enftun::loop {

LogFlush::LogFlush(Loop& loop) : timer_(loop, [this] { on_timer(); }) {
    timer_.unref();
    log::set_suppressed_hook([this](std::uint64_t due_ms) { arm(due_ms); });
}

LogFlush::~LogFlush() {
    log::set_suppressed_hook({});
    (void)log::flush_suppressed(std::numeric_limits<std::uint64_t>::max());
}

void LogFlush::arm(std::uint64_t due_ms) {
    if (armed_due_ != 0 && armed_due_ <= due_ms) {
        return; // an earlier run finds this count too, and re-arms for it
    }
    const std::uint64_t now = log::monotonic_ms();
    armed_due_ = due_ms;
    // The loop's clock may lag the monotonic one by a tick: a run that comes
    // early finds the count not yet due and arms again.
    timer_.start(due_ms > now ? due_ms - now : 0);
}

void LogFlush::on_timer() {
    armed_due_ = 0;
    if (const std::uint64_t due = log::flush_suppressed(log::monotonic_ms()); due != 0) {
        arm(due);
    }
}

} // namespace enftun::loop
