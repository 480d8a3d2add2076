// RaSchedule: when the router card sends its next Router Advertisement.
// Pure (times are passed in, in milliseconds), so it is unit-tested without
// a loop; NdpResponder runs it on one timer.
//
// Triggers and timing:
//   - request(): the tunnel came up, or the responder started. The RA goes
//     out at once, unless the previous RA is younger than min_gap (RFC 4861
//     §6.2.6 / §10: MIN_DELAY_BETWEEN_RAS, 3 s, for RAs to the all-nodes
//     group); then it goes out when the gap has passed.
//   - solicit(now, delay): a Router Solicitation arrived. RFC 4861 §6.2.6:
//     the answer MUST wait a random delay of 0..MAX_RA_DELAY_TIME (500 ms,
//     drawn by the caller) after the solicitation, or after the previous
//     RA plus min_gap if that is later. The delay counts from the first
//     solicitation an RA answers: a later one adds nothing.
//   - periodic: `period` after the latest RA, the next one is due.
// The earliest of these is the deadline; a request or solicitation while
// one is pending adds nothing, so a burst of solicitations gets one RA.
//
//        request(), solicit()      timer: due()
//   Idle ─────────► Pending ──────────────────────► on_sent() ─► Idle
//    │  ▲  (deadline = now or last + min_gap, + delay if an RS)   ▲
//    │  └──── request()/solicit() again: no later deadline        │
//    └──── deadline = last + period ──── timer: due() ────────────┘
//
// The RA is written to the TUN synchronously, so the one RA "in flight" is
// the one between due() and on_sent(); nothing else can be queued.
#pragma once

#include <cstdint>
#include <optional>

namespace enftun::tunnel {

class RaSchedule {
public:
    // RFC 4861 §10: MIN_DELAY_BETWEEN_RAS and MAX_RA_DELAY_TIME.
    static constexpr std::uint64_t kMinGapMs = 3000;
    static constexpr std::uint64_t kMaxDelayMs = 500;

    RaSchedule(std::uint64_t period_ms, std::uint64_t min_gap_ms = kMinGapMs)
        : period_ms_(period_ms), min_gap_ms_(min_gap_ms) {}

    // Asks for an RA as soon as allowed; idempotent while one is pending.
    void request() { pending_ = true; }
    // Asks for an RA answering a solicitation received at now_ms, after
    // `delay_ms` (random, 0..kMaxDelayMs); no change if one is pending.
    void solicit(std::uint64_t now_ms, std::uint64_t delay_ms);
    bool pending() const { return pending_ || solicited_ms_.has_value(); }

    // When the timer should fire next (absolute ms); 0 means "now". Before
    // the first RA with nothing requested there is no deadline (nullopt).
    std::optional<std::uint64_t> next_deadline() const;

    // Called when the timer fires: true if an RA should be sent now.
    bool due(std::uint64_t now_ms) const;

    // An RA was sent (or its write failed: retrying at once would only fail
    // again, so a failure waits for the next trigger or period too).
    void on_sent(std::uint64_t now_ms);

    std::optional<std::uint64_t> last_sent_ms() const { return last_sent_ms_; }
    // A new period (a config reload), counted from the last RA sent.
    void set_period(std::uint64_t period_ms) { period_ms_ = period_ms; }

private:
    std::uint64_t period_ms_;
    std::uint64_t min_gap_ms_;
    std::optional<std::uint64_t> last_sent_ms_;
    bool pending_ = false;                      // by request()
    std::optional<std::uint64_t> solicited_ms_; // by solicit(): its deadline
};

} // namespace enftun::tunnel
