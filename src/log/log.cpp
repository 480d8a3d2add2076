#include "enftun/log/log.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <utility>

namespace enftun::log {

namespace {
Level g_level = Level::Info;
// LimitScope: how many are alive, and the limit they share. One loop
// thread: no locking.
int g_limit_depth = 0;
RateLimit g_scoped_limit{5000, 10, Level::Warn, "lines about unauthenticated connections", false};
// The limits whose count waits for flush_suppressed (intrusive list), and
// who is told when one starts waiting.
RateLimit* g_waiting = nullptr;
std::function<void(std::uint64_t)> g_suppressed_hook;

constexpr Level kLevels[] = {Level::Error, Level::Warn, Level::Info, Level::Debug};

const char* level_word(Level l) {
    switch (l) {
    case Level::Error:
        return "error";
    case Level::Warn:
        return "warning";
    case Level::Info:
        return "info";
    case Level::Debug:
        return "debug";
    }
    return "?";
}

bool under_journal() {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}
} // namespace

std::optional<Level> parse_level(std::string_view name) {
    for (const Level l : kLevels) {
        if (name == level_word(l)) {
            return l;
        }
    }
    return std::nullopt;
}

const char* level_name(Level level) {
    return level_word(level);
}

Level more_verbose(Level level, unsigned steps) {
    std::size_t i = 0;
    while (i + 1 < std::size(kLevels) && kLevels[i] != level) {
        ++i;
    }
    const std::size_t last = std::size(kLevels) - 1;
    return kLevels[std::min<std::size_t>(i + steps, last)];
}

void set_level(Level level) {
    g_level = level;
}
Level level() {
    return g_level;
}

std::uint64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

LimitScope::LimitScope(bool active) : active_(active) {
    if (active_) {
        ++g_limit_depth;
    }
}

LimitScope::~LimitScope() {
    if (active_) {
        --g_limit_depth;
    }
}

void write(Level level, const char* fmt, ...) {
    if (!enabled(level)) {
        return;
    }
    if (g_limit_depth > 0 && level != Level::Error) {
        if (!g_scoped_limit.allow(monotonic_ms())) {
            return;
        }
        if (auto n = g_scoped_limit.take_suppressed()) {
            --g_limit_depth; // the note itself is not limited
            write(level, "(%llu similar lines suppressed)", static_cast<unsigned long long>(n));
            ++g_limit_depth;
        }
    }
    // Format into one buffer and emit with a single fwrite so lines from a
    // log call are never interleaved.
    char line[1024];
    int n = 0;
    if (under_journal()) {
        n = std::snprintf(line, sizeof line, "<%d>", static_cast<int>(level));
    } else {
        n = std::snprintf(line, sizeof line, "%s: ", level_word(level));
    }
    va_list ap;
    va_start(ap, fmt);
    int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, fmt, ap);
    va_end(ap);
    std::size_t len = static_cast<std::size_t>(n);
    if (m > 0) {
        len += static_cast<std::size_t>(m);
    }
    if (len > sizeof line - 2) {
        len = sizeof line - 2;
    }
    line[len++] = '\n';
    std::fwrite(line, 1, len, stderr);
}

bool RateLimit::allow(std::uint64_t now_ms) {
    if (now_ms - window_start_ >= interval_ms_ || window_start_ == 0) {
        window_start_ = now_ms == 0 ? 1 : now_ms;
        in_window_ = 0;
    }
    if (in_window_ < burst_) {
        ++in_window_;
        return true;
    }
    if (suppressed_++ == 0 && what_ != nullptr) {
        if (!listed_) {
            listed_ = true;
            next_ = g_waiting;
            g_waiting = this;
        }
        if (g_suppressed_hook) {
            g_suppressed_hook(window_end_ms());
        }
    }
    return false;
}

std::uint64_t flush_suppressed(std::uint64_t now_ms) {
    std::uint64_t due = 0;
    RateLimit** link = &g_waiting;
    while (RateLimit* rl = *link) {
        const bool over = now_ms >= rl->window_end_ms();
        if (rl->suppressed_ > 0 && !over) {
            due = due == 0 ? rl->window_end_ms() : std::min(due, rl->window_end_ms());
            link = &rl->next_;
            continue;
        }
        if (const std::uint64_t n = rl->take_suppressed(); n > 0) {
            const auto secs = static_cast<unsigned long long>(rl->interval_ms_ / 1000);
            if (rl->is_format_) {
                write(rl->level_, "(%llu similar lines suppressed in the last %llu s: \"%s\")",
                      static_cast<unsigned long long>(n), secs, rl->what_);
            } else {
                write(rl->level_, "(%llu similar lines suppressed in the last %llu s: %s)",
                      static_cast<unsigned long long>(n), secs, rl->what_);
            }
        }
        *link = rl->next_; // reported here or on its next line: off the list
        rl->next_ = nullptr;
        rl->listed_ = false;
    }
    return due;
}

void set_suppressed_hook(std::function<void(std::uint64_t due_ms)> hook) {
    g_suppressed_hook = std::move(hook);
}

std::uint64_t RateLimit::take_suppressed() {
    std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
}

} // namespace enftun::log
