// AnswerBudget: how much answering the control socket may do per second, a
// token bucket shared by all of a daemon's control connections. Pure state:
// no clock of its own (the caller passes the loop's milliseconds), no I/O.
//
// Why: the control socket is served on the loop that forwards packets, and
// an answer's cost grows with its length (the router's `status json` lists
// up to 10,000 sessions: 2.3 MB, ~50-60 ms of the loop's CPU to build and
// send, in slices since router/session_slicer.hpp; bench/README.md
// "Control socket"). Without a bound, pollers in a tight loop take the
// loop's time from the tunnel.
//
//   take(now) ── tokens >= 1 ──► true: build the answer, then
//       │                          charge(bytes): 1 token + 1 per
//       │                          kBytesPerToken of answer (may go negative)
//       └──── else ──────────────► false: answer busy_line(), cheap
//   ready(now) is take() without taking: the server leaves new connections
//   in the kernel's backlog for ms_until_token() while it says no, so even
//   busy answers stay few, a backlog's worth per token (accepting them all,
//   one poller got ~20,000 busy answers a second: ~28% of a core).
//
// The bucket holds at most `burst` tokens, refills `per_second` a second, and
// starts full. A long answer costs several tokens and may leave the bucket
// in debt, repaid by the refill before the next answer: what is bounded is
// answer bytes a second (about per_second x kBytesPerToken), so short
// answers (the client's, the router's table and metrics) are never limited
// by a human or a cron job, and a 10,000-session JSON (36 tokens) can be
// asked twice with a full bucket of 60, then about once every 1.8 s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace enftun::control {

class AnswerBudget {
public:
    // Every whole kBytesPerToken of an answer costs one more token.
    static constexpr std::size_t kBytesPerToken = 64 * 1024;

    // per_second 0: no limit (take() is always true).
    AnswerBudget(std::uint32_t per_second, std::uint32_t burst);

    // Refills up to now_ms (a monotonic clock; a clock going back refills
    // nothing) and says whether a whole token is there (takes none).
    bool ready(std::uint64_t now_ms);

    // ready(), and takes the token an answer needs if so.
    bool take(std::uint64_t now_ms);

    // After ready() said no: ms until the refill makes a whole token.
    std::uint64_t ms_until_token() const;

    // Charges the rest of an answer of `bytes` taken with take(): one token
    // per whole kBytesPerToken. May leave the bucket in debt.
    void charge(std::size_t bytes);

    // The same for an answer written in slices (control/answer.hpp), as it
    // grows from `before` to `after` bytes: the whole kBytesPerToken it
    // crossed, so the slices of an answer cost what it would in one piece.
    void charge_growth(std::size_t before, std::size_t after);

    std::uint32_t per_second() const { return per_second_; }

    // Whole tokens in the bucket now (negative: in debt); for tests.
    std::int64_t tokens() const { return milli_ / 1000; }

private:
    std::uint32_t per_second_;
    std::int64_t cap_milli_; // burst, in thousandths of a token
    std::int64_t milli_;     // balance, in thousandths of a token
    std::uint64_t last_ms_ = 0;
    bool started_ = false;
};

// "error: busy: at most N answers a second, try again\n".
std::string busy_line(std::uint32_t per_second);

} // namespace enftun::control
