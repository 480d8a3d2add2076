#include "enftun/service/status_throttle.hpp"

#include <utility>

namespace enftun::service {

StatusThrottle::StatusThrottle(loop::Loop& loop, Notifier& notifier, std::uint64_t interval_ms,
                               Text text)
    : loop_(loop), notifier_(notifier), interval_ms_(interval_ms), text_(std::move(text)),
      timer_(loop, [this] { send(); }) {}

void StatusThrottle::changed() {
    if (!notifier_.enabled() || timer_.active()) {
        return; // the timer will send the text as it is then
    }
    const std::uint64_t now = loop_.now_ms();
    if (!sent_once_ || now - last_sent_ms_ >= interval_ms_) {
        send();
        return;
    }
    timer_.start(interval_ms_ - (now - last_sent_ms_));
}

void StatusThrottle::send() {
    sent_once_ = true;
    last_sent_ms_ = loop_.now_ms();
    notifier_.status(text_());
}

} // namespace enftun::service
