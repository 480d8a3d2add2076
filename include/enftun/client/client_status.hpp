// The client's answers to the control socket's requests (control/request.hpp),
// rendered from a ClientSnapshot (pure: times come in a StatusContext):
//
//   status        a short human table (render_status_text)
//   status json   one JSON object, its fields listed in the README
//                 ("Operating"); "version" changes only if a field changes
//                 meaning or goes away (render_status_json)
//   metrics       OpenMetrics text, enftun_* names (render_status_metrics);
//                 also what tun.metrics_file receives
#pragma once

#include "enftun/client/client_snapshot.hpp"
#include "enftun/control/server_counters.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace enftun::tunnel {

// The JSON format's version: the "version" field.
inline constexpr int kStatusJsonVersion = 1;

struct StatusContext {
    std::int64_t now = 0;        // seconds since the epoch
    std::int64_t started_at = 0; // the process's start
    std::int64_t pid = 0;
    std::string cert_file;
    std::optional<std::int64_t> cert_not_after;     // unset: unreadable
    std::optional<control::ServerCounters> control; // the control socket's; unset: none
};

// "connecting", "handshaking", "confirming", "up", "backing_off", "stopped".
const char* status_state_name(ClientState state);

nlohmann::json status_json(const ClientSnapshot& s, const StatusContext& ctx);
std::string render_status_json(const ClientSnapshot& s, const StatusContext& ctx);
std::string render_status_text(const ClientSnapshot& s, const StatusContext& ctx);
std::string render_status_metrics(const ClientSnapshot& s, const StatusContext& ctx);

} // namespace enftun::tunnel
