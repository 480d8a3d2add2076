// Unit tests for router/status_format: what `enftun-router status`,
// `--json` and `--metrics` print for a snapshot, and the caps on the
// session list.
#include "enftun/router/status_format.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "test.hpp"

using namespace enftun::router;

namespace {

SessionStatus session(int i) {
    SessionStatus s;
    s.address = "fd00:e::" + std::to_string(i);
    s.peer = "[fd00:100::" + std::to_string(i) + "]:40000";
    s.uptime_ms = 125000;
    s.rx_packets = 3;
    s.rx_bytes = 312;
    s.tx_packets = 2;
    s.tx_bytes = 2048;
    s.queue_drops = 7;
    s.tls_version = "TLSv1.3";
    s.tls_cipher = "TLS_AES_256_GCM_SHA384";
    s.protocol = 2;
    s.key_updates_sent = 5;
    s.key_updates_received = 6;
    return s;
}

RouterStatus sample(std::size_t listed, std::size_t omitted) {
    RouterStatus st;
    st.version = "9.9";
    st.uptime_ms = 3723500;
    st.sessions = listed + omitted;
    st.sessions_total = 40;
    st.accepted = 50;
    st.revoked = 1;
    st.from_clients = {10, 1040};
    st.to_clients = {20, 3072};
    st.tun_offload = "none";
    st.tun_gso_split = 3;
    st.handshake_failures[static_cast<std::size_t>(HandshakeFailure::Certificate)] = 4;
    st.handshake_failures[static_cast<std::size_t>(HandshakeFailure::PerSourceCap)] = 2;
    st.drops.queue_full = 7;
    st.limits.max_sessions = {10000, 0};
    st.limits.queue_limit = {262144, 7};
    for (std::size_t i = 0; i < listed; ++i) {
        st.session_list.push_back(session(static_cast<int>(i) + 1));
    }
    st.sessions_omitted = omitted;
    return st;
}

bool contains(const std::string& text, const char* part) {
    if (text.find(part) == std::string::npos) {
        print_error("missing \"%s\" in:\n%s\n", part, text.c_str());
        return false;
    }
    return true;
}

void test_text_has_totals_and_sessions(void**) {
    std::string text = format_status_text(sample(2, 0));
    assert_true(contains(text, "enftun-router 9.9, up 1h 2m"));
    assert_true(contains(text, "2 now, 40 since start"));
    assert_true(contains(text, "10 packets, 1.0 KiB"));
    assert_true(contains(text, "handshake failures  per_source_cap 2, certificate 4\n"));
    assert_true(contains(text, "limits hit          queue_limit (262144 bytes) 7\n"));
    assert_true(contains(text, "revoked 1"));
    assert_true(contains(text, "TUN offload         none; super-packets 0 whole, 3 split\n"));
    assert_true(contains(text, "ADDRESS"));
    assert_true(contains(text, "fd00:e::2  [fd00:100::2]:40000  2m 5s   312 B  2.0 KiB  7       "
                               "TLSv1.3  2\n"));
    assert_false(text.find("more") != std::string::npos);
    assert_true(contains(format_status_text(sample(0, 0)), "\nno sessions\n"));
}

// An IPV4 column after ADDRESS once a listed session has an inner IPv4
// address ("-" for one without); none on an IPv6-only router (above).
void test_text_shows_ipv4_column(void**) {
    RouterStatus st = sample(2, 0);
    assert_false(format_status_text(st).find("IPV4") != std::string::npos);
    st.session_list[1].ipv4 = "198.18.1.5";
    std::string text = format_status_text(st);
    assert_true(contains(text, "ADDRESS    IPV4        PEER"));
    assert_true(contains(text, "fd00:e::1  -           [fd00:100::1]:40000"));
    assert_true(contains(text, "fd00:e::2  198.18.1.5  [fd00:100::2]:40000  2m 5s   312 B  2.0 KiB"
                               "  7       TLSv1.3  2\n"));
}

void test_text_lists_at_most_kTextSessions(void**) {
    std::string text = format_status_text(sample(kTextSessions + 5, 100));
    std::size_t rows = 0;
    for (std::size_t at = text.find("TLSv1.3"); at != std::string::npos;
         at = text.find("TLSv1.3", at + 1)) {
        ++rows;
    }
    assert_int_equal(rows, kTextSessions);
    assert_true(contains(text, "... and 105 more (status --json lists up to 10000)\n"));
}

void test_json_fields(void**) {
    auto j = nlohmann::json::parse(format_status_json(sample(2, 3)));
    assert_string_equal(j["version"].get<std::string>().c_str(), "9.9");
    assert_true(j["uptime_seconds"].get<double>() == 3723.5);
    assert_int_equal(j["sessions"].get<int>(), 5);
    assert_int_equal(j["sessions_total"].get<int>(), 40);
    assert_int_equal(j["from_clients"]["bytes"].get<int>(), 1040);
    assert_int_equal(j["to_clients"]["packets"].get<int>(), 20);
    assert_int_equal(j["handshake_failures"]["certificate"].get<int>(), 4);
    assert_int_equal(j["handshake_failures"]["tls_error"].get<int>(), 0);
    assert_int_equal(j["handshake_failures"].size(), kHandshakeFailureKinds);
    assert_int_equal(j["dropped"]["queue_full"].get<int>(), 7);
    assert_int_equal(j["limits"]["queue_limit"]["value"].get<int>(), 262144);
    assert_int_equal(j["limits"]["queue_limit"]["hits"].get<int>(), 7);
    assert_int_equal(j["closed"]["revoked"].get<int>(), 1);
    assert_string_equal(j["tun_offload"].get<std::string>().c_str(), "none");
    assert_int_equal(j["tun_gso"]["split"].get<int>(), 3);
    assert_true(nlohmann::json::parse(format_status_json(RouterStatus{}))["tun_offload"].is_null());
    assert_int_equal(j["session_list"].size(), 2);
    const auto& s = j["session_list"][1];
    assert_string_equal(s["address"].get<std::string>().c_str(), "fd00:e::2");
    assert_string_equal(s["peer"].get<std::string>().c_str(), "[fd00:100::2]:40000");
    assert_true(s["uptime_seconds"].get<double>() == 125.0);
    assert_int_equal(s["rx_bytes"].get<int>(), 312);
    assert_int_equal(s["tx_bytes"].get<int>(), 2048);
    assert_int_equal(s["queue_drops"].get<int>(), 7);
    assert_string_equal(s["tls_version"].get<std::string>().c_str(), "TLSv1.3");
    assert_int_equal(s["tls_key_updates_sent"].get<int>(), 5);
    assert_int_equal(s["tls_key_updates_received"].get<int>(), 6);
    assert_int_equal(s["protocol"].get<int>(), 2);
    assert_int_equal(j["sessions_omitted"].get<int>(), 3);
    // ipv4 only for a session bound to an IPv4 address (inner IPv4).
    assert_false(s.contains("ipv4"));
    RouterStatus st = sample(2, 0);
    st.session_list[0].ipv4 = "198.18.0.5";
    auto j4 = nlohmann::json::parse(format_status_json(st));
    assert_string_equal(j4["session_list"][0]["ipv4"].get<std::string>().c_str(), "198.18.0.5");
    assert_false(j4["session_list"][1].contains("ipv4"));
}

void test_json_lists_at_most_kJsonSessions(void**) {
    auto j = nlohmann::json::parse(format_status_json(sample(kJsonSessions + 2, 10)));
    assert_int_equal(j["session_list"].size(), kJsonSessions);
    assert_int_equal(j["sessions_omitted"].get<int>(), 12);
}

// Every sample line "name{labels} value", by name and labels.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line[0] != '#') {
            std::size_t space = line.rfind(' ');
            out[line.substr(0, space)] = line.substr(space + 1);
        }
    }
    return out;
}

void test_metrics(void**) {
    std::string text = format_metrics(sample(2, 0));
    assert_true(text.ends_with("# EOF\n"));
    auto m = samples(text);
    assert_string_equal(m["enftun_router_sessions"].c_str(), "2");
    assert_string_equal(m["enftun_router_uptime_seconds"].c_str(), "3723.5");
    assert_string_equal(m["enftun_router_bytes_total{direction=\"rx\"}"].c_str(), "1040");
    assert_string_equal(m["enftun_router_bytes_total{direction=\"tx\"}"].c_str(), "3072");
    assert_string_equal(m["enftun_router_packets_total{direction=\"tx\"}"].c_str(), "20");
    assert_string_equal(m["enftun_router_handshake_failures_total{reason=\"certificate\"}"].c_str(),
                        "4");
    assert_string_equal(
        m["enftun_router_handshake_failures_total{reason=\"per_source_cap\"}"].c_str(), "2");
    assert_string_equal(m["enftun_router_limit_hits_total{limit=\"queue_limit\"}"].c_str(), "7");
    assert_string_equal(m["enftun_router_sessions_closed_total{reason=\"revoked\"}"].c_str(), "1");
    assert_true(contains(text, "# TYPE enftun_router_bytes counter\n# UNIT enftun_router_bytes "
                               "bytes\n"));
    // No series per session: a client's address is in no sample.
    assert_true(text.find("fd00:e::") == std::string::npos);
}

// The control socket's own counters: a table row, a JSON object and three
// metric families when the router serves one; nothing (JSON: null) when not.
void test_control_socket_counters(void**) {
    RouterStatus st = sample(1, 0);
    assert_false(format_status_text(st).find("\ncontrol ") != std::string::npos);
    assert_true(nlohmann::json::parse(format_status_json(st))["control"].is_null());
    assert_false(format_metrics(st).find("_control_") != std::string::npos);

    enftun::control::ServerCounters c;
    c.answered = 75;
    c.limited = 12;
    c.bad = 3;
    c.bytes = 47104;
    c.timed_out = 2;
    c.turned_away = 1;
    st.control = c;
    assert_true(contains(format_status_text(st),
                         "control             answered 75 (busy 12, errors 3), 46.0 KiB; timed "
                         "out 2, turned away 1\n"));
    auto j = nlohmann::json::parse(format_status_json(st))["control"];
    assert_int_equal(j["answered"].get<int>(), 75);
    assert_int_equal(j["busy"].get<int>(), 12);
    assert_int_equal(j["errors"].get<int>(), 3);
    assert_int_equal(j["bytes"].get<int>(), 47104);
    assert_int_equal(j["timed_out"].get<int>(), 2);
    assert_int_equal(j["turned_away"].get<int>(), 1);
    std::string text = format_metrics(st);
    auto m = samples(text);
    assert_string_equal(m["enftun_router_control_answers_total{result=\"ok\"}"].c_str(), "60");
    assert_string_equal(m["enftun_router_control_answers_total{result=\"busy\"}"].c_str(), "12");
    assert_string_equal(m["enftun_router_control_answers_total{result=\"error\"}"].c_str(), "3");
    assert_string_equal(m["enftun_router_control_answer_bytes_total"].c_str(), "47104");
    assert_string_equal(
        m["enftun_router_control_connections_closed_total{reason=\"timeout\"}"].c_str(), "2");
    assert_string_equal(
        m["enftun_router_control_connections_closed_total{reason=\"turned_away\"}"].c_str(), "1");
    assert_true(contains(text, "# TYPE enftun_router_control_answer_bytes counter\n# UNIT "
                               "enftun_router_control_answer_bytes bytes\n"));
    assert_true(text.ends_with("# EOF\n"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_has_totals_and_sessions),
        cmocka_unit_test(test_text_shows_ipv4_column),
        cmocka_unit_test(test_text_lists_at_most_kTextSessions),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_json_lists_at_most_kJsonSessions),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_control_socket_counters),
    };
    return cmocka_run_group_tests_name("status_format", tests, nullptr, nullptr);
}
