// ReconnectLines: decides which of the client's per-reconnect lines are
// written, so that a path flapping every second (each flap a reconnect with
// no back-off, by design: conn/route_check.hpp) cannot write ~4 lines a
// second forever. The lines of one reconnect:
//
//   Reconnect    "connection to X lost: ...; reconnecting in N ms (...)" (warning)
//   Connected    "connected to X; TLS handshake"
//   TlsSession   "TLS session with X (...); waiting for the router"
//   TunnelUp     "tunnel up: ..."
//
// A reconnect the back-off paces ("(ceiling N ms)": a failed attempt, a
// lost tunnel) is already bounded by it: its lines are always written. Of
// the others ("(no backoff ...)": route changes, a renewed identity),
//
//   per interval (30 s):
//     the first reconnect's lines      all written (also the rest of one
//                                      begun in the interval before)
//     a reconnect of a reason class    its Reconnect line written (an error
//     not seen in this interval or     of a new kind is never hidden)
//     the one before
//     a line after a quiet spell       written (quiet_ms without any of
//                                      these lines: news, such as the
//                                      tunnel up again)
//     the next `budget` lines          written (`churning_budget` in an
//                                      interval after one that left lines out)
//     anything more                    counted, not written
//   at the interval's end, if anything was counted: one summary line with
//   the reconnects by reason, the lines left out by kind and the client's
//   state then, e.g.
//     "reconnects in the last 30 s: 29 (route_change 29); lines left out: 92
//      (reconnecting 23, connected 23, TLS session 23, tunnel up 23); now up
//      via [fd00:200::1]:4443 as fd00:e::5"
//
// A client reconnecting every 5 s or so keeps all its lines; a path flapping
// every second writes 4 + budget + 1 lines in its first 30 s and 5 in each
// 30 s after. Pure state, no clock: the caller passes loop time;
// ReconnectLinesLog (below) adds the summary's timer.
#pragma once

#include "enftun/client/reconnect_log.hpp"
#include "enftun/loop/loop.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace enftun::tunnel {

class ReconnectLines {
public:
    enum class Line { Reconnect, Connected, TlsSession, TunnelUp };

    struct Options {
        std::uint64_t interval_ms = 30000;
        unsigned budget = 20;           // lines after the first reconnect's
        unsigned churning_budget = 0;   // ... after an interval that left lines out
        std::uint64_t quiet_ms = 10000; // a line this long after the last is written
    };

    explicit ReconnectLines(Options opts) : opts_(opts) {}
    ReconnectLines() : ReconnectLines(Options{}) {}

    // Whether `line` is to be written now; when not, it is counted for the
    // summary. For a Reconnect line: `reason`, the class of its cause, and
    // `paced`, whether the back-off set its delay.
    bool allow(Line line, std::uint64_t now_ms, ReconnectReason reason = ReconnectReason::Other,
               bool paced = false);
    // The summary line once the interval has ended with lines left out
    // (`state`: the client's state, appended after "now "), and the
    // counters start over; nullopt otherwise.
    std::optional<std::string> take(std::uint64_t now_ms, std::string_view state);
    // Whether lines left out wait for their summary, and when it is due.
    bool pending() const { return suppressed_ > 0; }
    std::uint64_t window_end_ms() const { return window_start_ + opts_.interval_ms; }

private:
    static constexpr std::size_t kReasons = static_cast<std::size_t>(ReconnectReason::Count_);
    static constexpr std::size_t kLines = 4;
    void start_over(std::uint64_t now_ms);
    bool decide(Line line, std::uint64_t now_ms, ReconnectReason reason, bool paced);

    Options opts_;
    bool started_ = false;
    std::uint64_t window_start_ = 0;
    std::uint64_t last_line_ms_ = 0;
    bool had_first_ = false; // the interval's first reconnect has begun
    bool in_first_ = false;  // ... and its lines are being written
    bool in_paced_ = false;  // the lines of a paced reconnect are being written
    bool churning_ = false;  // the interval before left lines out
    unsigned budget_used_ = 0;
    std::uint32_t seen_ = 0;        // reason classes of this interval (bits)
    std::uint32_t seen_before_ = 0; // ... and of the one before
    std::uint64_t reconnects_ = 0;
    std::array<std::uint64_t, kReasons> by_reason_{};
    std::uint64_t suppressed_ = 0;
    std::array<std::uint64_t, kLines> by_line_{};
};

// ReconnectLines on the loop: writes the summary line (a warning) from a
// timer at the interval's end. Timers: one, armed only while a summary
// waits. Lifetime: owned by the Client; the loop must outlive it.
class ReconnectLinesLog {
public:
    using StateFn = std::function<std::string()>;
    ReconnectLinesLog(loop::Loop& loop, StateFn state);

    // Whether the line is to be written (its level enabled, within the limits).
    bool allow(ReconnectLines::Line line, ReconnectReason reason = ReconnectReason::Other,
               bool paced = false);

private:
    void report();

    loop::Loop& loop_; // outlives us
    StateFn state_;
    ReconnectLines lines_;
    loop::Timer timer_;
};

} // namespace enftun::tunnel
