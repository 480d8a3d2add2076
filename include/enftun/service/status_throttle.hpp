// StatusThrottle: STATUS= for something that may change often (the router's
// session count under a wave of reconnects), at most once per interval. A
// change sends at once when the last send is an interval ago, otherwise the
// timer sends the latest text when the interval is up; so the last change
// is always reported, and a storm costs one message per interval.
//
// Timers: one, armed only while a change waits to be sent.
//
// Lifetime: the Notifier and the Loop outlive it; text is called from
// changed() or the timer, on the loop thread.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/service/notifier.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace enftun::service {

class StatusThrottle {
public:
    using Text = std::function<std::string()>;

    StatusThrottle(loop::Loop& loop, Notifier& notifier, std::uint64_t interval_ms, Text text);

    // Something the text shows changed.
    void changed();

private:
    void send();

    loop::Loop& loop_;   // outlives the throttle
    Notifier& notifier_; // outlives the throttle
    std::uint64_t interval_ms_;
    Text text_;
    loop::Timer timer_;
    std::uint64_t last_sent_ms_ = 0;
    bool sent_once_ = false;
};

} // namespace enftun::service
