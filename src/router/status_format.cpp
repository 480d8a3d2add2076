#include "enftun/router/status_format.hpp"

#include "enftun/control/openmetrics.hpp"
#include "enftun/control/server_counters.hpp"
#include "enftun/control/status_text.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

namespace enftun::router {

namespace {

using control::human_bytes;
using control::human_duration;
using control::MetricType;
using control::OpenMetricsWriter;

std::int64_t seconds(std::uint64_t ms) {
    return static_cast<std::int64_t>(ms / 1000);
}

double seconds_exact(std::uint64_t ms) {
    return static_cast<double>(ms) / 1000.0;
}

// The drops by reason, in the order of RouterStatus::Drops.
std::array<std::pair<std::string_view, std::uint64_t>, 8> drops_of(const RouterStatus& st) {
    const auto& d = st.drops;
    return {{{"spoofed", d.spoofed},
             {"no_route", d.no_route},
             {"not_global", d.not_global},
             {"queue_full", d.queue_full},
             {"not_ipv6", d.not_ipv6},
             {"tun_error", d.tun_error},
             {"tun_not_local", d.tun_not_local},
             {"split_limit", d.split_limit}}};
}

// The limits, in the order of RouterStatus::Limits, and their units.
struct NamedLimit {
    std::string_view name;
    const RouterStatus::Limit& limit;
    std::string_view unit; // "", "ms", "bytes"
};
std::array<NamedLimit, 7> limits_of(const RouterStatus& st) {
    const auto& l = st.limits;
    return {{{"max_sessions", l.max_sessions, ""},
             {"max_handshakes", l.max_handshakes, ""},
             {"max_handshakes_per_source", l.max_handshakes_per_source, ""},
             {"first_byte_timeout", l.first_byte_timeout, "ms"},
             {"handshake_timeout", l.handshake_timeout, "ms"},
             {"idle_timeout", l.idle_timeout, "ms"},
             {"queue_limit", l.queue_limit, "bytes"}}};
}

std::string traffic_text(const Traffic& t) {
    return std::to_string(t.packets) + " packets, " + human_bytes(t.bytes);
}

// "certificate 2, per_source_cap 1" (only the nonzero ones), or "none".
template <typename Range>
std::string nonzero_list(const Range& items) {
    std::string out;
    for (const auto& [name, count] : items) {
        if (count > 0) {
            out += (out.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(count);
        }
    }
    return out.empty() ? "none" : out;
}

std::vector<std::pair<std::string_view, std::uint64_t>> failures_of(const RouterStatus& st) {
    std::vector<std::pair<std::string_view, std::uint64_t>> out;
    for (std::size_t i = 0; i < kHandshakeFailureKinds; ++i) {
        out.emplace_back(handshake_failure_name(static_cast<HandshakeFailure>(i)),
                         st.handshake_failures[i]);
    }
    return out;
}

std::string limits_hit_text(const RouterStatus& st) {
    std::string out;
    for (const auto& [name, limit, unit] : limits_of(st)) {
        if (limit.hits > 0) {
            out += (out.empty() ? "" : ", ") + std::string(name) + " (" +
                   std::to_string(limit.value) + (unit.empty() ? "" : " ") + std::string(unit) +
                   ") " + std::to_string(limit.hits);
        }
    }
    return out.empty() ? "none" : out;
}

// The session lines: a header and one row each, columns aligned. The IPV4
// column is there only when a listed session has an inner IPv4 address, so an
// IPv6-only router's table has no empty column.
std::string sessions_text(const RouterStatus& st) {
    if (st.session_list.empty() && st.sessions_omitted == 0) {
        return "no sessions\n";
    }
    std::size_t listed = std::min(st.session_list.size(), kTextSessions);
    auto first = st.session_list.begin();
    bool any_ipv4 = std::any_of(first, first + static_cast<std::ptrdiff_t>(listed),
                                [](const SessionStatus& s) { return !s.ipv4.empty(); });
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ADDRESS", "PEER", "UPTIME", "RX", "TX", "QDROPS", "TLS", "PROTO"});
    if (any_ipv4) {
        rows.back().insert(rows.back().begin() + 1, "IPV4");
    }
    for (std::size_t i = 0; i < listed; ++i) {
        const SessionStatus& s = st.session_list[i];
        rows.push_back({s.address, s.peer, human_duration(seconds(s.uptime_ms)),
                        human_bytes(s.rx_bytes), human_bytes(s.tx_bytes),
                        std::to_string(s.queue_drops), s.tls_version, std::to_string(s.protocol)});
        if (any_ipv4) {
            rows.back().insert(rows.back().begin() + 1, s.ipv4.empty() ? "-" : s.ipv4);
        }
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < row.size(); ++c) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) {
                line.append(width[c] - row[c].size() + 2, ' ');
            }
        }
        out += line + '\n';
    }
    std::size_t omitted = st.sessions_omitted + (st.session_list.size() - listed);
    if (omitted > 0) {
        out += "... and " + std::to_string(omitted) + " more (status --json lists up to " +
               std::to_string(kJsonSessions) + ")\n";
    }
    return out;
}

nlohmann::json traffic_json(const Traffic& t) {
    return {{"packets", t.packets}, {"bytes", t.bytes}};
}

nlohmann::json session_json(const SessionStatus& s) {
    return {{"address", s.address},
            {"peer", s.peer},
            {"uptime_seconds", seconds_exact(s.uptime_ms)},
            {"rx_packets", s.rx_packets},
            {"rx_bytes", s.rx_bytes},
            {"tx_packets", s.tx_packets},
            {"tx_bytes", s.tx_bytes},
            {"queue_drops", s.queue_drops},
            {"tls_version", s.tls_version},
            {"tls_cipher", s.tls_cipher},
            {"tls_key_updates_sent", s.key_updates_sent},
            {"tls_key_updates_received", s.key_updates_received},
            {"protocol", s.protocol}};
}

void counter(OpenMetricsWriter& w, std::string_view name, std::string_view help,
             std::uint64_t value) {
    w.family(name, MetricType::Counter, help);
    w.sample(value);
}

void gauge(OpenMetricsWriter& w, std::string_view name, std::string_view help,
           std::uint64_t value) {
    w.family(name, MetricType::Gauge, help);
    w.sample(value);
}

} // namespace

std::string format_status_text(const RouterStatus& st) {
    control::TextTable t;
    t.row("router",
          "enftun-router " + st.version + ", up " + human_duration(seconds(st.uptime_ms)));
    t.row("sessions", std::to_string(st.sessions) + " now, " + std::to_string(st.sessions_total) +
                          " since start");
    t.row("handshaking", std::to_string(st.handshaking) + " now, " + std::to_string(st.accepted) +
                             " connections accepted");
    t.row("closed", "replaced " + std::to_string(st.replaced) + ", idle " +
                        std::to_string(st.idle_closed) + ", revoked " + std::to_string(st.revoked) +
                        ", protocol error " + std::to_string(st.protocol_errors));
    t.row("from clients", traffic_text(st.from_clients));
    t.row("to clients", traffic_text(st.to_clients));
    t.row("to TUN", std::to_string(st.to_tun) + " packets");
    if (!st.tun_offload.empty()) {
        t.row("TUN offload", st.tun_offload + "; super-packets " +
                                 std::to_string(st.tun_gso_whole) + " whole, " +
                                 std::to_string(st.tun_gso_split) + " split");
    }
    t.row("echo replies", std::to_string(st.echo_replies));
    t.row("handshake failures", nonzero_list(failures_of(st)));
    t.row("dropped", nonzero_list(drops_of(st)));
    t.row("limits hit", limits_hit_text(st));
    if (st.control) {
        t.row("control", control::server_counters_text(*st.control));
    }
    return t.render() + "\n" + sessions_text(st);
}

std::string format_status_json_head(const RouterStatus& st) {
    nlohmann::json failures = nlohmann::json::object();
    for (const auto& [name, count] : failures_of(st)) {
        failures[std::string(name)] = count;
    }
    nlohmann::json drops = nlohmann::json::object();
    for (const auto& [name, count] : drops_of(st)) {
        drops[std::string(name)] = count;
    }
    nlohmann::json limits = nlohmann::json::object();
    for (const auto& [name, limit, unit] : limits_of(st)) {
        limits[std::string(name)] = {{"value", limit.value}, {"hits", limit.hits}};
    }
    nlohmann::json j = {
        {"version", st.version},
        {"uptime_seconds", seconds_exact(st.uptime_ms)},
        {"sessions", st.sessions},
        {"handshaking", st.handshaking},
        {"accepted", st.accepted},
        {"sessions_total", st.sessions_total},
        {"closed",
         {{"replaced", st.replaced},
          {"idle", st.idle_closed},
          {"revoked", st.revoked},
          {"protocol_error", st.protocol_errors}}},
        {"from_clients", traffic_json(st.from_clients)},
        {"to_clients", traffic_json(st.to_clients)},
        {"to_tun_packets", st.to_tun},
        {"tun_offload",
         st.tun_offload.empty() ? nlohmann::json(nullptr) : nlohmann::json(st.tun_offload)},
        {"tun_gso", {{"whole", st.tun_gso_whole}, {"split", st.tun_gso_split}}},
        {"echo_replies", st.echo_replies},
        {"handshake_failures", std::move(failures)},
        {"dropped", std::move(drops)},
        {"limits", std::move(limits)},
        {"control",
         st.control ? control::server_counters_json(*st.control) : nlohmann::json(nullptr)},
    };
    // The object without its "}" and newline, then the list's opening: the
    // sessions and format_status_json_tail close it.
    std::string head = control::json_line(j);
    head.resize(head.size() - 2);
    head += R"(,"session_list":[)";
    return head;
}

std::string format_session_json(const SessionStatus& s) {
    nlohmann::json j = session_json(s);
    if (!s.ipv4.empty()) {
        j["ipv4"] = s.ipv4; // inner IPv4 only
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_status_json_tail(std::size_t omitted) {
    return R"(],"sessions_omitted":)" + std::to_string(omitted) + "}\n";
}

std::string format_status_json(const RouterStatus& st) {
    std::string out = format_status_json_head(st);
    std::size_t listed = std::min(st.session_list.size(), kJsonSessions);
    for (std::size_t i = 0; i < listed; ++i) {
        if (i > 0) {
            out += ',';
        }
        out += format_session_json(st.session_list[i]);
    }
    out += format_status_json_tail(st.sessions_omitted + (st.session_list.size() - listed));
    return out;
}

std::string format_metrics(const RouterStatus& st) {
    OpenMetricsWriter w;
    w.family("enftun_router_build_info", MetricType::Gauge, "The router's version.");
    w.sample(std::uint64_t{1}, {{"version", st.version}});
    w.family("enftun_router_uptime_seconds", MetricType::Gauge, "Time since the router started.",
             "seconds");
    w.sample(seconds_exact(st.uptime_ms));
    gauge(w, "enftun_router_sessions", "Authenticated sessions now.", st.sessions);
    gauge(w, "enftun_router_handshakes", "Unauthenticated connections now.", st.handshaking);
    gauge(w, "enftun_router_max_sessions", "The configured router.max_sessions.",
          st.limits.max_sessions.value);
    counter(w, "enftun_router_connections_accepted", "TCP connections accepted.", st.accepted);
    counter(w, "enftun_router_sessions_established", "Handshakes that became a session.",
            st.sessions_total);
    w.family("enftun_router_sessions_closed", MetricType::Counter,
             "Sessions the router closed, by reason (the others ended from the client's side).");
    w.sample(st.replaced, {{"reason", "replaced"}});
    w.sample(st.idle_closed, {{"reason", "idle"}});
    w.sample(st.revoked, {{"reason", "revoked"}});
    w.sample(st.protocol_errors, {{"reason", "protocol_error"}});
    w.family("enftun_router_handshake_failures", MetricType::Counter,
             "Connections that did not become a session, by reason.");
    for (const auto& [name, count] : failures_of(st)) {
        w.sample(count, {{"reason", name}});
    }
    w.family("enftun_router_packets", MetricType::Counter,
             "IP packets from clients (rx) and queued to clients (tx).");
    w.sample(st.from_clients.packets, {{"direction", "rx"}});
    w.sample(st.to_clients.packets, {{"direction", "tx"}});
    w.family("enftun_router_bytes", MetricType::Counter,
             "Bytes of those IP packets (no framing, no TLS).", "bytes");
    w.sample(st.from_clients.bytes, {{"direction", "rx"}});
    w.sample(st.to_clients.bytes, {{"direction", "tx"}});
    counter(w, "enftun_router_tun_packets", "Packets written to the router TUN.", st.to_tun);
    counter(w, "enftun_router_echo_replies", "Echo requests the router answered itself.",
            st.echo_replies);
    w.family("enftun_router_dropped_packets", MetricType::Counter, "Packets dropped, by reason.");
    for (const auto& [name, count] : drops_of(st)) {
        w.sample(count, {{"reason", name}});
    }
    w.family("enftun_router_limit_hits", MetricType::Counter,
             "How often each configured limit was reached.");
    for (const auto& [name, limit, unit] : limits_of(st)) {
        w.sample(limit.hits, {{"limit", name}});
    }
    if (st.control) {
        control::write_server_counters(w, "enftun_router", *st.control);
    }
    return w.finish();
}

} // namespace enftun::router
