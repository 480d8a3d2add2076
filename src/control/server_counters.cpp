#include "enftun/control/server_counters.hpp"

#include "enftun/control/status_text.hpp"

namespace enftun::control {

namespace {

// Answers that were what was asked for (neither busy nor an error line).
std::uint64_t ok_answers(const ServerCounters& c) {
    std::uint64_t refused = c.limited + c.bad;
    return c.answered > refused ? c.answered - refused : 0;
}

std::string name(std::string_view prefix, std::string_view rest) {
    std::string out(prefix);
    out += rest;
    return out;
}

} // namespace

std::string server_counters_text(const ServerCounters& c) {
    return "answered " + std::to_string(c.answered) + " (busy " + std::to_string(c.limited) +
           ", errors " + std::to_string(c.bad) + "), " + human_bytes(c.bytes) + "; timed out " +
           std::to_string(c.timed_out) + ", turned away " + std::to_string(c.turned_away);
}

nlohmann::json server_counters_json(const ServerCounters& c) {
    return {{"answered", c.answered}, {"busy", c.limited},        {"errors", c.bad},
            {"bytes", c.bytes},       {"timed_out", c.timed_out}, {"turned_away", c.turned_away}};
}

void write_server_counters(OpenMetricsWriter& w, std::string_view prefix, const ServerCounters& c) {
    w.family(name(prefix, "_control_answers"), MetricType::Counter,
             "Answers on the control socket, by result (busy: over the answer budget).");
    w.sample(ok_answers(c), {{"result", "ok"}});
    w.sample(c.limited, {{"result", "busy"}});
    w.sample(c.bad, {{"result", "error"}});
    w.family(name(prefix, "_control_answer_bytes"), MetricType::Counter,
             "Bytes of the answers written on the control socket.", "bytes");
    w.sample(c.bytes);
    w.family(name(prefix, "_control_connections_closed"), MetricType::Counter,
             "Control connections closed unanswered or cut, by reason.");
    w.sample(c.timed_out, {{"reason", "timeout"}});
    w.sample(c.turned_away, {{"reason", "turned_away"}});
}

} // namespace enftun::control
