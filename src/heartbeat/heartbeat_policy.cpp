#include "enftun/heartbeat/heartbeat_policy.hpp"

#include <algorithm>

namespace enftun::heartbeat {

void HeartbeatPolicy::on_up(std::uint64_t now_ms) {
    state_ = State::Quiet;
    last_rx_ms_ = now_ms;
    probe_requested_ = false;
    deadline_ms_ = now_ms + period_ms_;
}

void HeartbeatPolicy::set_timing(std::uint64_t period_ms, std::uint64_t timeout_ms) {
    period_ms_ = period_ms;
    timeout_ms_ = timeout_ms;
    if (state_ == State::Quiet && !probe_requested_) {
        deadline_ms_ = last_rx_ms_ + period_ms_;
    }
}

std::uint64_t HeartbeatPolicy::on_probe_requested(std::uint64_t now_ms) {
    // An answered probe whose timer has not run yet proves only the path it
    // took: whoever asks now (a route change since) needs a new one. An
    // unanswered probe stays out; its timeout covers the new path as well.
    if (state_ == State::Probing && rx_since_probe_) {
        state_ = State::Quiet;
    }
    if (state_ == State::Quiet) {
        // A flag, not a faked last_rx_ms_: now - period underflows when the
        // clock is younger than one period, and the probe would be skipped.
        probe_requested_ = true;
        deadline_ms_ = now_ms;
    }
    return deadline_ms_;
}

Action HeartbeatPolicy::on_timer(std::uint64_t now_ms) {
    switch (state_) {
    case State::Quiet:
        // A timestamp from a later clock reading than now counts as fresh.
        if (!probe_requested_ && (now_ms < last_rx_ms_ || now_ms - last_rx_ms_ < period_ms_)) {
            deadline_ms_ = last_rx_ms_ + period_ms_;
            return Action::None;
        }
        state_ = State::Probing;
        probe_requested_ = false;
        grace_taken_ = false;
        probe_sent_ms_ = now_ms;
        rx_since_probe_ = false;
        // on_rx() touches no timer, so an answer is only seen when the
        // timer runs: with a period shorter than the timeout, look at one
        // period too, or an answered probe would delay the next one until
        // the timeout (and a router's idle timeout could close us first).
        deadline_ms_ = now_ms + std::min(timeout_ms_, period_ms_);
        return Action::SendProbe;
    case State::Probing:
        // Any frame since the probe proves the path, the reply or not.
        if (rx_since_probe_) {
            state_ = State::Quiet;
            deadline_ms_ = last_rx_ms_ + period_ms_;
            return Action::None;
        }
        if (now_ms < probe_sent_ms_ + timeout_ms_) {
            deadline_ms_ = probe_sent_ms_ + timeout_ms_;
            return Action::None;
        }
        if (now_ms > probe_sent_ms_ + timeout_ms_ + kLateMs && !grace_taken_) {
            // The timer ran long after the timeout: the loop did not run
            // meanwhile (the process was stopped, frozen or starved), and
            // the answer may be waiting unread, for libuv runs overdue
            // timers before it polls. Judge after one poll.
            grace_taken_ = true;
            deadline_ms_ = now_ms + kGraceMs;
            return Action::None;
        }
        state_ = State::Dead;
        return Action::Dead;
    case State::Dead:
        return Action::Dead;
    }
    return Action::None;
}

} // namespace enftun::heartbeat
