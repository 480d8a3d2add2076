// FailureSummary: turns failed or refused handshakes (one event per
// unauthenticated connection that did not make it) into at most one log line
// per interval, so a flood of them cannot flood the log:
//
//   "1200 handshakes failed in the last 10 s (per-source cap 1100, first-byte
//    timeout 100); top sources fd00:102::2 (1150), fd00:103::2 (50)"
//
// Pure state, no clock of its own: the router passes loop time. Memory is
// bounded: at most max_sources distinct sources and max_reasons distinct
// reasons are counted by name per interval; the rest are summed as
// "others" and "other reasons".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace enftun::router {

class FailureSummary {
public:
    struct Options {
        std::uint64_t interval_ms = 10000;
        std::size_t top = 3;            // sources named in the line
        std::size_t max_sources = 1024; // counted by name per interval
        std::size_t max_reasons = 8;    // reasons counted by name per interval
    };

    explicit FailureSummary(Options opts) : opts_(opts) {}
    FailureSummary() : FailureSummary(Options{}) {}

    // One failure from `source` (an address, no port) for `reason` (such as
    // "first-byte timeout", or a link's "TLS handshake failed: <OpenSSL's
    // reason>"; copied: it need not outlive the call).
    void record(const std::string& source, const char* reason, std::uint64_t now_ms);
    // The summary line once an interval has passed since the first failure
    // it counts, and the counters start over; nullopt before, or if none.
    std::optional<std::string> take(std::uint64_t now_ms);
    // Whether failures are counted and not yet summarised.
    bool pending() const { return total_ > 0; }

private:
    Options opts_;
    std::uint64_t window_start_ = 0;
    std::uint64_t total_ = 0;
    std::uint64_t others_ = 0;        // from sources past max_sources
    std::uint64_t other_reasons_ = 0; // for reasons past max_reasons
    std::unordered_map<std::string, std::uint64_t> by_source_;
    std::vector<std::pair<std::string, std::uint64_t>> by_reason_; // few: a vector
};

} // namespace enftun::router
