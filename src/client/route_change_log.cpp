#include "enftun/client/route_change_log.hpp"

namespace enftun::tunnel {

RouteChangeLog::RouteChangeLog(loop::Loop& loop)
    : loop_(loop), timer_(loop, [this] { report(); }) {}

bool RouteChangeLog::allow() {
    if (!log::enabled(log::Level::Info)) {
        return false;
    }
    const std::uint64_t now = loop_.now_ms();
    if (limit_.allow(now)) {
        // The interval that suppressed them is over (its timer not yet
        // run): say so before going on.
        timer_.stop();
        report();
        return true;
    }
    if (!timer_.active()) {
        const std::uint64_t end = limit_.window_end_ms();
        timer_.start(end > now ? end - now : 1);
    }
    return false;
}

void RouteChangeLog::report() {
    if (const std::uint64_t n = limit_.take_suppressed(); n > 0) {
        ENFTUN_LOG_INFO("route change: %llu more lines suppressed in the last %llu s (the network "
                        "keeps changing)",
                        static_cast<unsigned long long>(n),
                        static_cast<unsigned long long>(kIntervalMs / 1000));
    }
}

} // namespace enftun::tunnel
