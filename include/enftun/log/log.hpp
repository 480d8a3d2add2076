// Logging: one line per event on stderr. Under systemd (JOURNAL_STREAM set) the
// line starts with a syslog "<N>" priority so journald keeps the level;
// otherwise with a short level word. The data path uses ENFTUN_LOG_RATELIMITED
// so a flood of bad packets cannot flood the log; what it leaves out is
// counted on a line of its own, at the latest when its interval ends
// (flush_suppressed). One thread (the loop's) uses the rate limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace enftun::log {

enum class Level { Error = 3, Warn = 4, Info = 6, Debug = 7 };

// Lines above this level are dropped. Default Info: the config's log.level,
// raised by each -v (more_verbose()).
void set_level(Level level);
Level level();
inline bool enabled(Level l) {
    return static_cast<int>(l) <= static_cast<int>(level());
}

// The names of log.level and of the lines' level words: "error", "warning",
// "info", "debug". parse_level: nullopt for any other text.
std::optional<Level> parse_level(std::string_view name);
const char* level_name(Level level);
// steps levels more verbose than level, Debug at most (-v, -vv).
Level more_verbose(Level level, unsigned steps);

[[gnu::format(printf, 2, 3)]] void write(Level level, const char* fmt, ...);

// Allows `burst` lines per `interval`; counts what it suppressed and reports
// the count on the next line it lets through. One static instance per call
// site (10 per 5 s), or a member with its own interval and burst for lines
// that share one limit (the client's route-change lines); its owner may
// report what window_end_ms() leaves suppressed from a timer. A limit made
// with a `what` (ENFTUN_LOG_RATELIMITED's call sites, LimitScope's) joins,
// when it starts counting, the list flush_suppressed() reports from: it
// must stay alive until then (static storage, as theirs).
class RateLimit {
public:
    constexpr RateLimit() = default;
    constexpr RateLimit(std::uint64_t interval_ms, unsigned burst)
        : interval_ms_(interval_ms), burst_(burst) {}
    // `what`: a string literal naming the lines, a printf format when
    // `is_format` (quoted in the count's line), else a description.
    constexpr RateLimit(std::uint64_t interval_ms, unsigned burst, Level level, const char* what,
                        bool is_format = true)
        : interval_ms_(interval_ms), burst_(burst), level_(level), what_(what),
          is_format_(is_format) {}
    bool allow(std::uint64_t now_ms);
    std::uint64_t take_suppressed();
    // When the current interval ends (monotonic ms); 0 before the first line.
    std::uint64_t window_end_ms() const { return window_start_ + interval_ms_; }

private:
    friend std::uint64_t flush_suppressed(std::uint64_t now_ms);

    std::uint64_t interval_ms_ = 5000;
    unsigned burst_ = 10;
    std::uint64_t window_start_ = 0;
    unsigned in_window_ = 0;
    std::uint64_t suppressed_ = 0;
    Level level_ = Level::Info;
    const char* what_ = nullptr;
    bool is_format_ = true;
    bool listed_ = false;       // in flush_suppressed's list
    RateLimit* next_ = nullptr; // ... and the next there
};

// Writes, for each listed limit whose interval has ended with lines
// suppressed (a flood that stopped: no next line will carry its count), one
// line at the level of those lines:
//   (312 similar lines suppressed in the last 5 s: "TUN write failed: %s")
// Returns when the next count is due (monotonic ms), 0 when none waits.
std::uint64_t flush_suppressed(std::uint64_t now_ms);
// Called with the due time whenever a limit starts counting (a line
// suppressed after none): the daemon arms a timer for flush_suppressed only
// then (loop/log_flush.hpp), so an idle daemon is not woken. Empty: none.
void set_suppressed_hook(std::function<void(std::uint64_t due_ms)> hook);

std::uint64_t monotonic_ms();

// While a LimitScope is alive, every line below Error shares one RateLimit
// (a burst per interval, then "(N similar lines suppressed)"). For code that
// logs on behalf of unauthenticated peers, which may come by the thousand:
// the router's TLS handshakes (link/tls_link.hpp). Not nestable with
// different intent: an inactive scope inside an active one changes nothing.
class LimitScope {
public:
    explicit LimitScope(bool active);
    ~LimitScope();
    LimitScope(const LimitScope&) = delete;
    LimitScope& operator=(const LimitScope&) = delete;

private:
    bool active_;
};

} // namespace enftun::log

#define ENFTUN_LOG_ERROR(...) ::enftun::log::write(::enftun::log::Level::Error, __VA_ARGS__)
#define ENFTUN_LOG_WARN(...) ::enftun::log::write(::enftun::log::Level::Warn, __VA_ARGS__)
#define ENFTUN_LOG_INFO(...) ::enftun::log::write(::enftun::log::Level::Info, __VA_ARGS__)
#define ENFTUN_LOG_DEBUG(...)                                                                      \
    do {                                                                                           \
        if (::enftun::log::enabled(::enftun::log::Level::Debug)) {                                 \
            ::enftun::log::write(::enftun::log::Level::Debug, __VA_ARGS__);                        \
        }                                                                                          \
    } while (0)

// Rate-limited line for the data path: at most a burst per interval per call
// site; the count of the rest comes before the next line let through, or
// from flush_suppressed once the interval is over.
#define ENFTUN_LOG_RATELIMITED(lvl, fmt, ...)                                                      \
    do {                                                                                           \
        if (::enftun::log::enabled(lvl)) {                                                         \
            static ::enftun::log::RateLimit enftun_rl_{5000, 10, lvl, fmt};                        \
            if (enftun_rl_.allow(::enftun::log::monotonic_ms())) {                                 \
                if (auto enftun_n_ = enftun_rl_.take_suppressed()) {                               \
                    ::enftun::log::write(lvl, "(%llu similar lines suppressed)",                   \
                                         static_cast<unsigned long long>(enftun_n_));              \
                }                                                                                  \
                ::enftun::log::write(lvl, fmt __VA_OPT__(, ) __VA_ARGS__);                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)
