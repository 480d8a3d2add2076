#include "enftun/client/reconnect_lines.hpp"

#include "enftun/log/log.hpp"

#include <algorithm>
#include <utility>

namespace enftun::tunnel {

namespace {

constexpr const char* kLineNames[] = {"reconnecting", "connected", "TLS session", "tunnel up"};

std::uint32_t reason_bit(ReconnectReason r) {
    return std::uint32_t{1} << static_cast<unsigned>(r);
}

} // namespace

void ReconnectLines::start_over(std::uint64_t now_ms) {
    churning_ = suppressed_ > 0;
    started_ = true;
    window_start_ = now_ms;
    had_first_ = false;
    in_first_ = false;
    budget_used_ = 0;
    seen_before_ = seen_;
    seen_ = 0;
    reconnects_ = 0;
    by_reason_.fill(0);
    suppressed_ = 0;
    by_line_.fill(0);
}

bool ReconnectLines::allow(Line line, std::uint64_t now_ms, ReconnectReason reason, bool paced) {
    // What was left out keeps its interval until take() has summarised it.
    if (!started_ || (suppressed_ == 0 && now_ms - window_start_ >= opts_.interval_ms)) {
        start_over(now_ms);
    }
    if (decide(line, now_ms, reason, paced)) {
        return true;
    }
    ++suppressed_;
    ++by_line_[static_cast<std::size_t>(line)];
    return false;
}

bool ReconnectLines::decide(Line line, std::uint64_t now_ms, ReconnectReason reason, bool paced) {
    const bool quiet = last_line_ms_ != 0 && now_ms - last_line_ms_ >= opts_.quiet_ms;
    last_line_ms_ = now_ms;
    bool new_kind = false;
    if (line == Line::Reconnect) {
        ++reconnects_;
        ++by_reason_[std::min(static_cast<std::size_t>(reason), kReasons - 1)];
        new_kind = ((seen_ | seen_before_) & reason_bit(reason)) == 0;
        seen_ |= reason_bit(reason);
        in_paced_ = paced; // a new reconnect ends the lines of the one before
        if (paced) {
            return true;
        }
        in_first_ = !had_first_;
        had_first_ = true;
    } else if (in_paced_) {
        return true;
    } else if (!had_first_) {
        had_first_ = true; // the tail of one begun earlier, or the first connect
        in_first_ = true;
    }
    if (in_first_ || new_kind || quiet) {
        return true;
    }
    if (budget_used_ < (churning_ ? opts_.churning_budget : opts_.budget)) {
        ++budget_used_;
        return true;
    }
    return false;
}

std::optional<std::string> ReconnectLines::take(std::uint64_t now_ms, std::string_view state) {
    if (suppressed_ == 0 || now_ms - window_start_ < opts_.interval_ms) {
        return std::nullopt;
    }
    std::string line = "reconnects in the last " + std::to_string((now_ms - window_start_) / 1000) +
                       " s: " + std::to_string(reconnects_);
    std::string reasons;
    for (std::size_t i = 0; i < kReasons; ++i) {
        if (by_reason_[i] > 0) {
            reasons += (reasons.empty() ? "" : ", ") +
                       std::string(to_string(static_cast<ReconnectReason>(i))) + " " +
                       std::to_string(by_reason_[i]);
        }
    }
    if (!reasons.empty()) {
        line += " (" + reasons + ")";
    }
    line += "; lines left out: " + std::to_string(suppressed_) + " (";
    for (std::size_t i = 0; i < kLines; ++i) {
        line +=
            (i == 0 ? "" : ", ") + std::string(kLineNames[i]) + " " + std::to_string(by_line_[i]);
    }
    line += "); now ";
    line += state;
    start_over(now_ms);
    return line;
}

ReconnectLinesLog::ReconnectLinesLog(loop::Loop& loop, StateFn state)
    : loop_(loop), state_(std::move(state)), timer_(loop, [this] { report(); }) {}

bool ReconnectLinesLog::allow(ReconnectLines::Line line, ReconnectReason reason, bool paced) {
    const bool warning = line == ReconnectLines::Line::Reconnect;
    if (!log::enabled(warning ? log::Level::Warn : log::Level::Info)) {
        return false;
    }
    const std::uint64_t now = loop_.now_ms();
    if (lines_.allow(line, now, reason, paced)) {
        return true;
    }
    if (!timer_.active()) {
        const std::uint64_t end = lines_.window_end_ms();
        timer_.start(end > now ? end - now : 1);
    }
    return false;
}

void ReconnectLinesLog::report() {
    const std::uint64_t now = loop_.now_ms();
    if (auto line = lines_.take(now, state_())) {
        ENFTUN_LOG_WARN("%s", line->c_str());
    } else if (lines_.pending()) {
        const std::uint64_t end = lines_.window_end_ms();
        timer_.start(end > now ? end - now : 1);
    }
}

} // namespace enftun::tunnel
