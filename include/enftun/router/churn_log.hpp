// ChurnLog: decides which of the router's session lines ("session up",
// "replaced by", "session closed") are written, so that authenticated
// clients reconnecting in a tight loop (a buggy device, two devices with
// one certificate replacing each other) cannot flood the log, while a new
// client's first line is never lost:
//
//   per interval (10 s):
//     a client's first line            always written
//     its next per_client - 1 lines    written while the interval's budget
//                                      of `repeats` such lines lasts (a
//                                      client that had lines left out in
//                                      the interval before: per_churning)
//     anything more                    counted, not written
//   at the interval's end, if anything was counted: one summary line
//     "session lines suppressed in the last 10 s: 2990 (up 1000, replaced
//      995, closed 995) from 1 client; most fd00:e::5 (2990)"
//
// A client reconnecting every second or two (a flaky path, a test) has all
// its lines; one in a tight loop has per_client, then per_churning per
// interval. A flood of N clients writes at most N + repeats + 1 lines per
// interval, whatever their rate. Pure state, no clock of its own: the router passes
// loop time. Memory is bounded: at most max_clients clients are tracked per
// interval; past that, every line counts against `repeats`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace enftun::router {

class ChurnLog {
public:
    enum class Kind { Up, Replaced, Closed };

    struct Options {
        std::uint64_t interval_ms = 10000;
        unsigned per_client = 20;
        unsigned per_churning = 2;   // per_client of a client suppressed last interval
        std::uint64_t repeats = 200; // lines after a client's first, all clients
        std::size_t max_clients = 16384;
        std::size_t top = 3; // clients named in the summary
    };

    explicit ChurnLog(Options opts) : opts_(opts) {}
    ChurnLog() : ChurnLog(Options{}) {}

    // Whether the line of `kind` about `client` (its address) is to be
    // written now; when not, it is counted for the summary.
    bool allow(const std::string& client, Kind kind, std::uint64_t now_ms);
    // The summary line once the interval has ended with lines suppressed,
    // and the counters start over; nullopt otherwise.
    std::optional<std::string> take(std::uint64_t now_ms);
    // Whether suppressed lines wait for their summary.
    bool pending() const { return suppressed_ > 0; }

private:
    struct Client {
        unsigned lines = 0;
        std::uint64_t suppressed = 0;
    };
    void start_over(std::uint64_t now_ms);

    Options opts_;
    std::uint64_t window_start_ = 0;
    bool started_ = false;
    std::unordered_map<std::string, Client> clients_;
    // Clients with lines left out in the interval before this one.
    std::unordered_set<std::string> churning_;
    std::uint64_t repeats_used_ = 0;
    std::uint64_t suppressed_ = 0;
    std::uint64_t by_kind_[3] = {};
    std::uint64_t untracked_ = 0; // suppressed past max_clients
};

} // namespace enftun::router
