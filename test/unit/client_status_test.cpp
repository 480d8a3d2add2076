// Unit tests for client/reconnect_log and client/client_status: reasons
// classified from the texts the client and TlsLink log, the rings (all ends;
// tunnels lost, with their up time) keeping the last 8 oldest first, counts
// per reason for tunnels and attempts; and the three renderings of a
// hand-made snapshot: the JSON fields the README documents, the table's
// state line and lost tunnels, the OpenMetrics samples.
#include "enftun/client/client_status.hpp"
#include "enftun/client/reconnect_log.hpp"
#include "enftun/control/openmetrics.hpp"

#include <cstring>
#include <string>

#include "test.hpp"

using namespace enftun::tunnel;

namespace {

void test_classify_reconnect_texts(void**) {
    struct {
        const char* text;
        ReconnectReason reason;
    } cases[] = {
        {"heartbeat timeout", ReconnectReason::Heartbeat},
        {"route change", ReconnectReason::RouteChange},
        {"identity renewed", ReconnectReason::IdentityRenewed},
        {"peer closed the tunnel (close_notify)", ReconnectReason::PeerClosed},
        {"TLS handshake failed: peer sent close_notify", ReconnectReason::PeerClosed},
        {"protocol error", ReconnectReason::ProtocolError},
        {"TLS handshake timed out", ReconnectReason::HandshakeTimeout},
        {"TLS handshake failed: certificate verify failed", ReconnectReason::HandshakeFailed},
        {"TLS read failed: unexpected eof while reading", ReconnectReason::TlsError},
        {"TLS write failed", ReconnectReason::TlsError},
        {"socket error", ReconnectReason::SocketError},
        {"connect failed: no remote host answered", ReconnectReason::ConnectFailed},
        {"something new", ReconnectReason::Other},
        {"", ReconnectReason::Other},
    };
    for (const auto& c : cases) {
        assert_int_equal(static_cast<int>(classify_reconnect(c.text)), static_cast<int>(c.reason));
    }
    // Every reason's name is a valid label value and distinct.
    for (int i = 0; i < static_cast<int>(ReconnectReason::Count_); ++i) {
        assert_true(enftun::control::valid_label_name(to_string(static_cast<ReconnectReason>(i))));
        for (int j = 0; j < i; ++j) {
            assert_string_not_equal(to_string(static_cast<ReconnectReason>(i)),
                                    to_string(static_cast<ReconnectReason>(j)));
        }
    }
}

void test_reconnect_log_ring_and_counts(void**) {
    ReconnectLog log;
    assert_true(log.recent().empty());
    log.record("peer closed the tunnel (close_notify)", true, 100);
    for (int i = 0; i < 9; ++i) {
        log.record("connect failed: no remote host answered", false, 200 + i);
    }
    log.record("heartbeat timeout", true, 300);
    log.record(std::string(500, 'x'), true, 301);
    auto recent = log.recent();
    assert_int_equal(recent.size(), ReconnectLog::kRecent);
    // Oldest first: the 11 records minus the first 3.
    assert_int_equal(recent.front().at, 203);
    assert_int_equal(recent[6].at, 300);
    assert_int_equal(static_cast<int>(recent[6].reason),
                     static_cast<int>(ReconnectReason::Heartbeat));
    assert_true(recent[6].was_up);
    assert_int_equal(recent.back().text.size(), ReconnectLog::kMaxReasonText);
    assert_int_equal(log.tunnels_lost_total(), 3);
    assert_int_equal(log.attempts_failed_total(), 9);
    assert_int_equal(log.tunnels_lost(ReconnectReason::PeerClosed), 1);
    assert_int_equal(log.tunnels_lost(ReconnectReason::Other), 1);
    assert_int_equal(log.attempts_failed(ReconnectReason::ConnectFailed), 9);
    assert_int_equal(log.tunnels_lost(ReconnectReason::ConnectFailed), 0);
}

// A long back-off fills the ring of all ends with failed attempts; the ring
// of lost tunnels keeps the last 8 losses, each with how long it was up.
void test_reconnect_log_lost_ring(void**) {
    ReconnectLog log;
    assert_true(log.lost().empty());
    log.record("peer closed the tunnel (close_notify)", true, 100, 65'400);
    for (int i = 0; i < 20; ++i) {
        log.record("connect failed: no remote host answered", false, 200 + i);
    }
    log.record("socket error", true, 300, 999);
    for (const auto& e : log.recent()) {
        assert_true(e.at != 100); // pushed out of the ring of all ends
    }
    auto lost = log.lost();
    assert_int_equal(lost.size(), 2);
    assert_int_equal(lost[0].at, 100);
    assert_int_equal(static_cast<int>(lost[0].reason),
                     static_cast<int>(ReconnectReason::PeerClosed));
    assert_int_equal(lost[0].up_ms, 65'400);
    assert_true(lost[0].was_up);
    assert_int_equal(lost[1].at, 300);
    assert_int_equal(lost[1].up_ms, 999);
    // Failed attempts have no up time, and it is kept only for losses.
    assert_int_equal(log.recent().front().up_ms, 0);
    // Eight at most, oldest first.
    for (int i = 0; i < 10; ++i) {
        log.record("heartbeat timeout", true, 400 + i, 1000);
    }
    lost = log.lost();
    assert_int_equal(lost.size(), ReconnectLog::kRecent);
    assert_int_equal(lost.front().at, 402);
    assert_int_equal(lost.back().at, 409);
}

ClientSnapshot backing_off_snapshot() {
    ClientSnapshot s;
    s.state = ClientState::BackingOff;
    s.retry_in_ms = 2500;
    s.device = "enf0";
    s.address = "fd00:e::5";
    s.tun_rx_packets = 3;
    s.tun_rx_bytes = 312;
    s.tun_tx_packets = 4;
    s.tun_tx_bytes = 400;
    s.tun_offload = "tso";
    s.gso_rx_whole = 6;
    s.gso_rx_split = 7;
    s.drops = {{"tunnel_down", 2}, {"egress_wrong_source", 0}};
    s.connects = 1;
    s.reconnects.record("peer closed the tunnel (close_notify)", true, 1796568800, 125'700);
    s.heartbeat_probes = 5;
    s.heartbeat_rtt_us = 1250;
    s.heartbeat_rtt_age_ms = 4000;
    return s;
}

StatusContext context() {
    StatusContext ctx;
    ctx.now = 1796568821; // 2026-12-06T14:53:41Z
    ctx.started_at = ctx.now - 3725;
    ctx.pid = 42;
    ctx.cert_file = "/etc/enftun/enf0.crt.pem";
    ctx.cert_not_after = ctx.now + 10 * 86400 + 5;
    return ctx;
}

void test_status_json_fields(void**) {
    auto j = status_json(backing_off_snapshot(), context());
    assert_int_equal(j["version"].get<int>(), kStatusJsonVersion);
    assert_string_equal(j["state"].get<std::string>().c_str(), "backing_off");
    assert_true(j["retry_in_seconds"].get<double>() == 2.5);
    assert_string_equal(j["retry_at"].get<std::string>().c_str(), "2026-12-06T14:53:43Z");
    assert_true(j["tls"].is_null());
    assert_true(j["local"].is_null());
    assert_true(j["tunnel_uptime_seconds"].is_null());
    assert_true(j["backoff_resumed_attempt"].is_null());
    assert_int_equal(j["uptime_seconds"].get<int>(), 3725);
    assert_int_equal(j["tun"]["rx_bytes"].get<int>(), 312);
    assert_string_equal(j["tun"]["offload"].get<std::string>().c_str(), "tso");
    assert_int_equal(j["tun"]["gso_rx_whole"].get<int>(), 6);
    assert_int_equal(j["tun"]["gso_rx_split"].get<int>(), 7);
    assert_int_equal(j["drops"]["tunnel_down"].get<int>(), 2);
    assert_int_equal(j["reconnects"]["total"].get<int>(), 1);
    assert_int_equal(j["reconnects"]["by_reason"]["peer_closed"].get<int>(), 1);
    assert_string_equal(j["reconnects"]["recent"][0]["at"].get<std::string>().c_str(),
                        "2026-12-06T14:53:20Z");
    assert_int_equal(j["reconnects"]["lost"].size(), 1);
    assert_string_equal(j["reconnects"]["lost"][0]["at"].get<std::string>().c_str(),
                        "2026-12-06T14:53:20Z");
    assert_string_equal(j["reconnects"]["lost"][0]["reason"].get<std::string>().c_str(),
                        "peer_closed");
    assert_string_equal(j["reconnects"]["lost"][0]["text"].get<std::string>().c_str(),
                        "peer closed the tunnel (close_notify)");
    assert_int_equal(j["reconnects"]["lost"][0]["up_seconds"].get<int>(), 125);
    assert_false(j["reconnects"]["lost"][0].contains("tunnel_was_up"));
    assert_true(j["reconnects"]["recent"][0]["tunnel_was_up"].get<bool>());
    assert_true(j["heartbeat"]["rtt_seconds"].get<double>() == 0.00125);
    assert_int_equal(j["certificate"]["days_left"].get<int>(), 10);
    auto expired = context();
    expired.cert_not_after = expired.now - 1;
    assert_int_equal(status_json(backing_off_snapshot(), expired)["certificate"]["days_left"], -1);
    // One line.
    std::string line = render_status_json(backing_off_snapshot(), context());
    assert_int_equal(line.find('\n'), line.size() - 1);
}

// Up over protocol version 2: the TLS fields keep version, cipher and the
// wire protocol apart.
void test_status_tls_fields(void**) {
    ClientSnapshot up = backing_off_snapshot();
    up.state = ClientState::Up;
    up.tls_version = "TLSv1.3";
    up.tls_cipher = "TLS_AES_256_GCM_SHA384";
    up.protocol = 2;
    up.key_updates_sent = 3;
    up.key_updates_received = 4;
    auto j = status_json(up, context());
    assert_int_equal(j["tls"]["key_updates_sent"].get<int>(), 3);
    assert_int_equal(j["tls"]["key_updates_received"].get<int>(), 4);
    assert_string_equal(j["tls"]["version"].get<std::string>().c_str(), "TLSv1.3");
    assert_string_equal(j["tls"]["cipher"].get<std::string>().c_str(), "TLS_AES_256_GCM_SHA384");
    assert_int_equal(j["tls"]["protocol"].get<int>(), 2);
    std::string t = render_status_text(up, context());
    assert_non_null(std::strstr(t.c_str(), "TLSv1.3 TLS_AES_256_GCM_SHA384, protocol 2\n"));
}

// The router fields name the connection being made or used, never the last
// one: a consumer must not take a router being left for the current one.
void test_status_router_while_connecting(void**) {
    ClientSnapshot s = backing_off_snapshot();
    auto j = status_json(s, context());
    assert_true(j["router"].is_null());
    assert_true(j["connecting_to"].is_null());
    assert_non_null(std::strstr(render_status_text(s, context()).c_str(), "\nrouter       -\n"));
    s.state = ClientState::Connecting;
    s.retry_in_ms.reset();
    s.connecting_to = "[fd00:100::2]:4443";
    j = status_json(s, context());
    assert_true(j["router"].is_null());
    assert_string_equal(j["connecting_to"].get<std::string>().c_str(), "[fd00:100::2]:4443");
    assert_non_null(std::strstr(render_status_text(s, context()).c_str(),
                                "\nrouter       - (connecting to [fd00:100::2]:4443)\n"));
    s.state = ClientState::Handshaking;
    s.connecting_to.clear();
    s.router = "[fd00:100::2]:4443";
    j = status_json(s, context());
    assert_string_equal(j["router"].get<std::string>().c_str(), "[fd00:100::2]:4443");
    assert_true(j["connecting_to"].is_null());
    assert_non_null(std::strstr(render_status_text(s, context()).c_str(),
                                "\nrouter       [fd00:100::2]:4443 (TLS handshake)\n"));
    s.state = ClientState::Up;
    assert_non_null(std::strstr(render_status_text(s, context()).c_str(),
                                "\nrouter       [fd00:100::2]:4443\n"));
}

void test_status_text_table(void**) {
    std::string t = render_status_text(backing_off_snapshot(), context());
    assert_non_null(std::strstr(
        t.c_str(), "state        backing_off, next attempt in 3s (2026-12-06T14:53:44Z)\n"));
    assert_non_null(std::strstr(t.c_str(), "reconnects   1 (peer_closed 1); failed attempts 0\n"));
    assert_non_null(std::strstr(t.c_str(), "2026-12-06T14:53:20Z  lost: peer closed the tunnel"));
    assert_non_null(std::strstr(
        t.c_str(),
        "lost         2026-12-06T14:53:20Z  up 2m 5s: peer closed the tunnel (close_notify)\n"));
    assert_non_null(std::strstr(t.c_str(), "drops        tunnel_down 2\n"));
    assert_non_null(
        std::strstr(t.c_str(), "tun offload  tso; super-packets from the link 6 whole, 7 split\n"));
    ClientSnapshot resumed = backing_off_snapshot();
    resumed.backoff_resumed = 6;
    assert_non_null(std::strstr(render_status_text(resumed, context()).c_str(),
                                "state        backing_off, next attempt in 3s "
                                "(2026-12-06T14:53:44Z); back-off resumed from an earlier run "
                                "(attempt 6)\n"));
    assert_int_equal(status_json(resumed, context())["backoff_resumed_attempt"].get<int>(), 6);
    ClientSnapshot none = backing_off_snapshot();
    none.reconnects = ReconnectLog{};
    t = render_status_text(none, context());
    assert_non_null(std::strstr(t.c_str(), "\nlost         none\n"));
    assert_non_null(std::strstr(t.c_str(), "certificate  10 days left"));
    assert_non_null(std::strstr(t.c_str(), "heartbeat    5 probes, last rtt 1.250 ms (4s ago)\n"));
}

void test_status_metrics_samples(void**) {
    std::string m = render_status_metrics(backing_off_snapshot(), context());
    for (const char* line : {
             "enftun_tunnel_up 0\n",
             "enftun_tunnel_state{state=\"backing_off\"} 1\n",
             "enftun_tunnel_state{state=\"up\"} 0\n",
             "enftun_tun_bytes_total{direction=\"rx\"} 312\n",
             "enftun_tun_packets_total{direction=\"tx\"} 4\n",
             "enftun_dropped_packets_total{reason=\"tunnel_down\"} 2\n",
             "enftun_reconnects_total{reason=\"peer_closed\"} 1\n",
             "enftun_connect_failures_total{reason=\"connect_failed\"} 0\n",
             "enftun_heartbeat_rtt_seconds 0.00125\n",
             "enftun_process_start_time_seconds 1796565096\n",
             "# TYPE enftun_certificate_expiry_seconds gauge\n",
         }) {
        if (std::strstr(m.c_str(), line) == nullptr) {
            fail_msg("missing: %s", line);
        }
    }
    assert_true(m.ends_with("\n# EOF\n"));
    // No rtt sample before a probe was answered (the family stays).
    ClientSnapshot s = backing_off_snapshot();
    s.heartbeat_rtt_us.reset();
    m = render_status_metrics(s, context());
    assert_null(std::strstr(m.c_str(), "\nenftun_heartbeat_rtt_seconds "));
    assert_non_null(std::strstr(m.c_str(), "# TYPE enftun_heartbeat_rtt_seconds gauge\n"));
}

// The control socket's own counters: a table row, a JSON object and the
// metric families while the client serves one; JSON null and nothing else
// when not.
void test_status_control_counters(void**) {
    auto ctx = context();
    assert_true(status_json(backing_off_snapshot(), ctx)["control"].is_null());
    assert_null(std::strstr(render_status_text(backing_off_snapshot(), ctx).c_str(), "\ncontrol "));
    assert_null(std::strstr(render_status_metrics(backing_off_snapshot(), ctx).c_str(), "control"));
    enftun::control::ServerCounters c;
    c.answered = 9;
    c.limited = 4;
    c.bad = 1;
    c.bytes = 2048;
    ctx.control = c;
    auto j = status_json(backing_off_snapshot(), ctx)["control"];
    assert_int_equal(j["answered"].get<int>(), 9);
    assert_int_equal(j["busy"].get<int>(), 4);
    assert_int_equal(j["errors"].get<int>(), 1);
    assert_int_equal(j["bytes"].get<int>(), 2048);
    assert_int_equal(j["timed_out"].get<int>(), 0);
    std::string t = render_status_text(backing_off_snapshot(), ctx);
    assert_non_null(std::strstr(t.c_str(), "\ncontrol      answered 9 (busy 4, errors 1), 2.0 KiB; "
                                           "timed out 0, turned away 0\n"));
    // The column stays where it was: "control" is no wider than the keys.
    assert_true(t.starts_with("state        backing_off"));
    std::string m = render_status_metrics(backing_off_snapshot(), ctx);
    for (const char* line : {
             "enftun_control_answers_total{result=\"ok\"} 4\n",
             "enftun_control_answers_total{result=\"busy\"} 4\n",
             "enftun_control_answers_total{result=\"error\"} 1\n",
             "enftun_control_answer_bytes_total 2048\n",
             "enftun_control_connections_closed_total{reason=\"timeout\"} 0\n",
         }) {
        if (std::strstr(m.c_str(), line) == nullptr) {
            fail_msg("missing: %s", line);
        }
    }
    assert_true(m.ends_with("\n# EOF\n"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_reconnect_texts),
        cmocka_unit_test(test_reconnect_log_ring_and_counts),
        cmocka_unit_test(test_reconnect_log_lost_ring),
        cmocka_unit_test(test_status_json_fields),
        cmocka_unit_test(test_status_tls_fields),
        cmocka_unit_test(test_status_router_while_connecting),
        cmocka_unit_test(test_status_text_table),
        cmocka_unit_test(test_status_metrics_samples),
        cmocka_unit_test(test_status_control_counters),
    };
    return cmocka_run_group_tests_name("client_status", tests, nullptr, nullptr);
}
