// ServerCounters: the control socket's own counters (ControlServer counts,
// control_server.hpp), and how both daemons show them in `status` (a table
// row), `status json` (an object) and their metrics (OpenMetrics families).
// Pure: no I/O, no loop.
//
// The counters partition the answers: every answer written is `answered`,
// and of those `limited` were "error: busy: ..." (the answer budget) and
// `bad` another "error: ..." line; the rest were the answers asked for.
// An answer's counters are taken before it is counted itself.
#pragma once

#include "enftun/control/openmetrics.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace enftun::control {

struct ServerCounters {
    std::uint64_t answered = 0;    // requests answered (errors included)
    std::uint64_t bad = 0;         // answered "error: ..." for a bad or oversized request
    std::uint64_t timed_out = 0;   // closed for being too slow
    std::uint64_t turned_away = 0; // closed at once: max_clients were open
    std::uint64_t limited = 0;     // answered "error: busy: ...": over answers_per_s
    std::uint64_t bytes = 0;       // answer bytes written to the askers
};

// "answered 12 (busy 3, errors 1), 45.6 KiB; timed out 0, turned away 0".
std::string server_counters_text(const ServerCounters& c);

// {"answered", "busy", "errors", "bytes", "timed_out", "turned_away"}.
nlohmann::json server_counters_json(const ServerCounters& c);

// PREFIX_control_answers_total{result="ok"|"busy"|"error"},
// PREFIX_control_answer_bytes_total and
// PREFIX_control_connections_closed_total{reason="timeout"|"turned_away"};
// prefix "enftun" (the client) or "enftun_router".
void write_server_counters(OpenMetricsWriter& w, std::string_view prefix, const ServerCounters& c);

} // namespace enftun::control
