#include "enftun/service/watchdog.hpp"

#include "enftun/log/log.hpp"

#include <systemd/sd-daemon.h>

namespace enftun::service {

Watchdog::Watchdog(loop::Loop& loop, Notifier& notifier)
    : notifier_(notifier), timer_(loop, [this] { on_timer(); }) {}

std::uint64_t Watchdog::start() {
    std::uint64_t usec = 0;
    // > 0: WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
    if (!notifier_.enabled() || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return 0;
    }
    // Half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms.
    interval_ms_ = usec / 2000 > 0 ? usec / 2000 : 1;
    ENFTUN_LOG_DEBUG("service manager: watchdog every %llu ms",
                     static_cast<unsigned long long>(interval_ms_));
    timer_.unref();
    on_timer();
    return interval_ms_;
}

void Watchdog::stop() {
    timer_.stop();
}

void Watchdog::on_timer() {
    notifier_.watchdog();
    timer_.start(interval_ms_);
}

} // namespace enftun::service
