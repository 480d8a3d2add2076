#include "enftun/client/client_status.hpp"

#include "enftun/control/openmetrics.hpp"
#include "enftun/control/status_text.hpp"

#include <cstdio>
#include <utility>

namespace enftun::tunnel {

namespace {

using control::human_bytes;
using control::human_duration;
using control::rfc3339_utc;
using nlohmann::json;

constexpr std::int64_t kDay = 86400;

std::int64_t seconds_of(std::uint64_t ms) {
    return static_cast<std::int64_t>(ms / 1000);
}

double seconds_exact(std::uint64_t ms) {
    return static_cast<double>(ms) / 1000.0;
}

json or_null(const std::string& s) {
    return s.empty() ? json(nullptr) : json(s);
}

// Whole days until not_after, negative once past.
std::int64_t days_left(std::int64_t not_after, std::int64_t now) {
    std::int64_t d = not_after - now;
    return d >= 0 ? d / kDay : -((-d + kDay - 1) / kDay);
}

// What a tunnel's or an attempt's end says in both lists.
json ended_json(const ReconnectEntry& e) {
    return {{"at", rfc3339_utc(e.at)}, {"reason", to_string(e.reason)}, {"text", e.text}};
}

json reconnects_json(const ReconnectLog& log) {
    json lost = json::object();
    json failed = json::object();
    for (std::size_t i = 0; i < static_cast<std::size_t>(ReconnectReason::Count_); ++i) {
        auto r = static_cast<ReconnectReason>(i);
        if (auto n = log.tunnels_lost(r)) {
            lost[to_string(r)] = n;
        }
        if (auto n = log.attempts_failed(r)) {
            failed[to_string(r)] = n;
        }
    }
    json recent = json::array();
    for (const auto& e : log.recent()) {
        json entry = ended_json(e);
        entry["tunnel_was_up"] = e.was_up;
        recent.push_back(std::move(entry));
    }
    json lost_recent = json::array();
    for (const auto& e : log.lost()) {
        json entry = ended_json(e);
        entry["up_seconds"] = seconds_of(e.up_ms);
        lost_recent.push_back(std::move(entry));
    }
    return {{"total", log.tunnels_lost_total()},
            {"by_reason", lost},
            {"failed_attempts", log.attempts_failed_total()},
            {"failed_attempts_by_reason", failed},
            {"recent", recent},
            {"lost", lost_recent}};
}

} // namespace

const char* status_state_name(ClientState state) {
    return to_label(state);
}

json status_json(const ClientSnapshot& s, const StatusContext& ctx) {
    json j;
    j["version"] = kStatusJsonVersion;
    j["pid"] = ctx.pid;
    j["state"] = status_state_name(s.state);
    j["retry_in_seconds"] = s.retry_in_ms ? json(seconds_exact(*s.retry_in_ms)) : json(nullptr);
    j["retry_at"] =
        s.retry_in_ms ? json(rfc3339_utc(ctx.now + seconds_of(*s.retry_in_ms))) : json(nullptr);
    j["backoff_resumed_attempt"] = s.backoff_resumed ? json(*s.backoff_resumed) : json(nullptr);
    j["device"] = s.device;
    j["address"] = s.address;
    j["router"] = or_null(s.router);
    j["connecting_to"] = or_null(s.connecting_to);
    j["local"] = or_null(s.local);
    j["tls"] = s.tls_version.empty() ? json(nullptr)
                                     : json{{"version", s.tls_version},
                                            {"cipher", s.tls_cipher},
                                            {"protocol", s.protocol},
                                            {"key_updates_sent", s.key_updates_sent},
                                            {"key_updates_received", s.key_updates_received}};
    j["started_at"] = rfc3339_utc(ctx.started_at);
    j["uptime_seconds"] = ctx.now - ctx.started_at;
    j["tunnel_uptime_seconds"] = s.tunnel_up_ms ? json(seconds_of(*s.tunnel_up_ms)) : json(nullptr);
    j["tun"] = {{"rx_packets", s.tun_rx_packets}, {"rx_bytes", s.tun_rx_bytes},
                {"tx_packets", s.tun_tx_packets}, {"tx_bytes", s.tun_tx_bytes},
                {"offload", s.tun_offload},       {"gso_rx_whole", s.gso_rx_whole},
                {"gso_rx_split", s.gso_rx_split}};
    j["link"] = {{"rx_bytes", s.link_rx_bytes}, {"tx_bytes", s.link_tx_bytes}};
    json drops = json::object();
    for (const auto& [name, n] : s.drops) {
        drops[name] = n;
    }
    j["drops"] = drops;
    j["connects"] = s.connects;
    j["reconnects"] = reconnects_json(s.reconnects);
    j["heartbeat"] = {
        {"probes_sent", s.heartbeat_probes},
        {"rtt_seconds",
         s.heartbeat_rtt_us ? json(static_cast<double>(*s.heartbeat_rtt_us) / 1e6) : json(nullptr)},
        {"rtt_age_seconds",
         s.heartbeat_rtt_age_ms ? json(seconds_of(*s.heartbeat_rtt_age_ms)) : json(nullptr)}};
    j["certificate"] = {
        {"file", ctx.cert_file},
        {"not_after", ctx.cert_not_after ? json(rfc3339_utc(*ctx.cert_not_after)) : json(nullptr)},
        {"days_left",
         ctx.cert_not_after ? json(days_left(*ctx.cert_not_after, ctx.now)) : json(nullptr)}};
    j["busy_poll"] = {
        {"window_us", s.busy_poll_us}, {"spins", s.busy_poll_spins}, {"hits", s.busy_poll_hits}};
    j["router_card"] = {
        {"rs_received", s.rs_received},         {"ra_sent", s.ra_sent},
        {"ns_answered", s.ns_answered},         {"dhcpv6_answered", s.dhcpv6_answered},
        {"malformed", s.router_card_malformed}, {"send_errors", s.router_card_send_errors},
        {"ignored", s.router_card_ignored},     {"rate_limited", s.router_card_rate_limited}};
    j["path"] = {{"route_changes", s.route_changes},
                 {"early_retries", s.early_retries},
                 {"idle_trims", s.idle_trims}};
    j["control"] = ctx.control ? control::server_counters_json(*ctx.control) : json(nullptr);
    return j;
}

std::string render_status_json(const ClientSnapshot& s, const StatusContext& ctx) {
    return control::json_line(status_json(s, ctx));
}

namespace {

std::string state_line(const ClientSnapshot& s, const StatusContext& ctx) {
    std::string line = status_state_name(s.state);
    if (s.tunnel_up_ms) {
        line += " for " + human_duration(seconds_of(*s.tunnel_up_ms));
    }
    if (s.retry_in_ms) {
        line += ", next attempt in " + human_duration(seconds_of(*s.retry_in_ms + 999)) + " (" +
                rfc3339_utc(ctx.now + seconds_of(*s.retry_in_ms + 999)) + ")";
    }
    if (s.backoff_resumed) {
        line += "; back-off resumed from an earlier run (attempt " +
                std::to_string(*s.backoff_resumed) + ")";
    }
    return line;
}

std::string packets_bytes(std::uint64_t packets, std::uint64_t bytes) {
    return std::to_string(packets) + " packets, " + human_bytes(bytes);
}

std::string drops_line(const ClientSnapshot& s) {
    std::string out;
    for (const auto& [name, n] : s.drops) {
        if (n != 0) {
            out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
        }
    }
    return out.empty() ? "none" : out;
}

std::string reconnects_line(const ReconnectLog& log) {
    std::string out = std::to_string(log.tunnels_lost_total());
    std::string by;
    for (std::size_t i = 0; i < static_cast<std::size_t>(ReconnectReason::Count_); ++i) {
        auto r = static_cast<ReconnectReason>(i);
        if (auto n = log.tunnels_lost(r)) {
            by += (by.empty() ? "" : ", ") + std::string(to_string(r)) + " " + std::to_string(n);
        }
    }
    if (!by.empty()) {
        out += " (" + by + ")";
    }
    out += "; failed attempts " + std::to_string(log.attempts_failed_total());
    return out;
}

// The last tunnels lost, each with how long it had been up: apart from the
// reconnects' lines, which a long back-off fills with failed attempts.
void lost_rows(control::TextTable& t, const ReconnectLog& log) {
    const auto lost = log.lost();
    if (lost.empty()) {
        t.row("lost", "none");
    }
    const char* key = "lost";
    for (const auto& e : lost) {
        t.row(key,
              rfc3339_utc(e.at) + "  up " + human_duration(seconds_of(e.up_ms)) + ": " + e.text);
        key = "";
    }
}

std::string heartbeat_line(const ClientSnapshot& s) {
    std::string out = std::to_string(s.heartbeat_probes) + " probes";
    if (s.heartbeat_rtt_us) {
        char rtt[32];
        std::snprintf(rtt, sizeof(rtt), "%.3f ms",
                      static_cast<double>(*s.heartbeat_rtt_us) / 1000.0);
        out += ", last rtt " + std::string(rtt) + " (" +
               human_duration(seconds_of(*s.heartbeat_rtt_age_ms)) + " ago)";
    }
    return out;
}

std::string certificate_line(const StatusContext& ctx) {
    if (!ctx.cert_not_after) {
        return "unreadable (" + ctx.cert_file + ")";
    }
    std::int64_t days = days_left(*ctx.cert_not_after, ctx.now);
    std::string when = rfc3339_utc(*ctx.cert_not_after);
    return days >= 0 ? std::to_string(days) + " days left (until " + when + ")"
                     : "EXPIRED " + std::to_string(-days) + " days ago (" + when + ")";
}

// The router row: never the last router while another is being tried.
std::string router_cell(const ClientSnapshot& s) {
    if (!s.router.empty()) {
        return s.state == ClientState::Handshaking ? s.router + " (TLS handshake)" : s.router;
    }
    if (!s.connecting_to.empty()) {
        return "- (connecting to " + s.connecting_to + ")";
    }
    return "-";
}

} // namespace

std::string render_status_text(const ClientSnapshot& s, const StatusContext& ctx) {
    control::TextTable t;
    t.row("state", state_line(s, ctx));
    t.row("router", router_cell(s));
    t.row("local", s.local.empty() ? "-" : s.local);
    t.row("address", s.address + " on " + s.device);
    t.row("tls", s.tls_version.empty() ? "-"
                                       : s.tls_version + " " + s.tls_cipher + ", protocol " +
                                             std::to_string(s.protocol));
    t.row("uptime", human_duration(ctx.now - ctx.started_at) + " (pid " + std::to_string(ctx.pid) +
                        ", since " + rfc3339_utc(ctx.started_at) + ")");
    t.row("to router", packets_bytes(s.tun_rx_packets, s.tun_rx_bytes) + " read from the TUN");
    t.row("from router", packets_bytes(s.tun_tx_packets, s.tun_tx_bytes) + " written to the TUN");
    t.row("tun offload", s.tun_offload + "; super-packets from the link " +
                             std::to_string(s.gso_rx_whole) + " whole, " +
                             std::to_string(s.gso_rx_split) + " split");
    t.row("link", "rx " + human_bytes(s.link_rx_bytes) + ", tx " + human_bytes(s.link_tx_bytes));
    t.row("drops", drops_line(s));
    t.row("connects", std::to_string(s.connects));
    t.row("reconnects", reconnects_line(s.reconnects));
    for (const auto& e : s.reconnects.recent()) {
        t.row("", rfc3339_utc(e.at) + "  " + (e.was_up ? "lost: " : "failed: ") + e.text);
    }
    lost_rows(t, s.reconnects);
    t.row("heartbeat", heartbeat_line(s));
    t.row("certificate", certificate_line(ctx));
    t.row("busy-poll", s.busy_poll_us == 0 ? "off"
                                           : std::to_string(s.busy_poll_us) + " us, spins " +
                                                 std::to_string(s.busy_poll_spins) + ", hits " +
                                                 std::to_string(s.busy_poll_hits));
    t.row("router card", "rs " + std::to_string(s.rs_received) + ", ra " +
                             std::to_string(s.ra_sent) + ", ns " + std::to_string(s.ns_answered) +
                             ", dhcpv6 " + std::to_string(s.dhcpv6_answered) + ", errors " +
                             std::to_string(s.router_card_malformed + s.router_card_send_errors));
    if (ctx.control) {
        t.row("control", control::server_counters_text(*ctx.control));
    }
    return t.render();
}

std::string render_status_metrics(const ClientSnapshot& s, const StatusContext& ctx) {
    using control::MetricType;
    control::OpenMetricsWriter w;
    w.family("enftun_build_info", MetricType::Gauge, "The enftun version running.");
    w.sample(std::uint64_t{1}, {{"version", ENFTUN_VERSION}});
    w.family("enftun_tunnel_up", MetricType::Gauge, "1 while the tunnel is up, else 0.");
    w.sample(std::uint64_t{s.state == ClientState::Up ? 1u : 0u});
    w.family("enftun_tunnel_state", MetricType::Gauge, "1 for the client's current state.");
    for (auto st : {ClientState::Connecting, ClientState::Handshaking, ClientState::Confirming,
                    ClientState::Up, ClientState::BackingOff, ClientState::Stopped}) {
        w.sample(std::uint64_t{st == s.state ? 1u : 0u}, {{"state", status_state_name(st)}});
    }
    w.family("enftun_process_start_time_seconds", MetricType::Gauge,
             "Start of the enftun process, seconds since the epoch.", "seconds");
    w.sample(static_cast<double>(ctx.started_at));
    w.family("enftun_tunnel_uptime_seconds", MetricType::Gauge,
             "How long the tunnel has been up, 0 while it is not.", "seconds");
    w.sample(s.tunnel_up_ms ? seconds_exact(*s.tunnel_up_ms) : 0.0);
    w.family("enftun_tun_packets", MetricType::Counter,
             "Packets read from (rx) and written to (tx) the TUN device.");
    w.sample(s.tun_rx_packets, {{"direction", "rx"}});
    w.sample(s.tun_tx_packets, {{"direction", "tx"}});
    w.family("enftun_tun_bytes", MetricType::Counter,
             "Bytes read from (rx) and written to (tx) the TUN device.", "bytes");
    w.sample(s.tun_rx_bytes, {{"direction", "rx"}});
    w.sample(s.tun_tx_bytes, {{"direction", "tx"}});
    w.family("enftun_link_bytes", MetricType::Counter,
             "Frame bytes received from and sent to the router, all connections.", "bytes");
    w.sample(s.link_rx_bytes, {{"direction", "rx"}});
    w.sample(s.link_tx_bytes, {{"direction", "tx"}});
    w.family("enftun_dropped_packets", MetricType::Counter, "Packets dropped, by reason.");
    for (const auto& [name, n] : s.drops) {
        w.sample(n, {{"reason", name}});
    }
    w.family("enftun_connects", MetricType::Counter, "Tunnels brought up.");
    w.sample(s.connects);
    const auto& log = s.reconnects;
    constexpr auto kReasons = static_cast<std::size_t>(ReconnectReason::Count_);
    w.family("enftun_reconnects", MetricType::Counter, "Tunnels that ended, by reason.");
    for (std::size_t i = 0; i < kReasons; ++i) {
        auto r = static_cast<ReconnectReason>(i);
        if (r != ReconnectReason::ConnectFailed) { // never ends a tunnel
            w.sample(log.tunnels_lost(r), {{"reason", to_string(r)}});
        }
    }
    w.family("enftun_connect_failures", MetricType::Counter,
             "Connection attempts that failed before the tunnel was up, by reason.");
    for (std::size_t i = 0; i < kReasons; ++i) {
        auto r = static_cast<ReconnectReason>(i);
        w.sample(log.attempts_failed(r), {{"reason", to_string(r)}});
    }
    w.family("enftun_heartbeat_probes", MetricType::Counter, "Heartbeat probes sent.");
    w.sample(s.heartbeat_probes);
    w.family("enftun_heartbeat_rtt_seconds", MetricType::Gauge,
             "Round trip of the last answered heartbeat probe.", "seconds");
    if (s.heartbeat_rtt_us) {
        w.sample(static_cast<double>(*s.heartbeat_rtt_us) / 1e6);
    }
    w.family("enftun_certificate_expiry_seconds", MetricType::Gauge,
             "notAfter of the client certificate, seconds since the epoch.", "seconds");
    if (ctx.cert_not_after) {
        w.sample(static_cast<double>(*ctx.cert_not_after));
    }
    w.family("enftun_busy_poll_spins", MetricType::Counter, "Busy-poll windows started.");
    w.sample(s.busy_poll_spins);
    w.family("enftun_busy_poll_hits", MetricType::Counter,
             "Packets a busy-poll caught (wake-ups saved).");
    w.sample(s.busy_poll_hits);
    w.family("enftun_router_card_messages", MetricType::Counter,
             "NDP and DHCPv6 messages of the router card, by kind.");
    w.sample(s.rs_received, {{"kind", "rs_received"}});
    w.sample(s.ra_sent, {{"kind", "ra_sent"}});
    w.sample(s.ns_answered, {{"kind", "ns_answered"}});
    w.sample(s.dhcpv6_answered, {{"kind", "dhcpv6_answered"}});
    w.sample(s.router_card_malformed, {{"kind", "malformed"}});
    w.sample(s.router_card_send_errors, {{"kind", "send_error"}});
    w.sample(s.router_card_ignored, {{"kind", "ignored"}});
    w.sample(s.router_card_rate_limited, {{"kind", "rate_limited"}});
    w.family("enftun_route_changes", MetricType::Counter, "Network changes handled.");
    w.sample(s.route_changes);
    if (ctx.control) {
        control::write_server_counters(w, "enftun", *ctx.control);
    }
    return w.finish();
}

} // namespace enftun::tunnel
