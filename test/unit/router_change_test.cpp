// Unit tests for router/router_change: which keys a router reload changed
// (live, TLS, restart), and that the config applied keeps the restart keys.
#include "enftun/router/router_change.hpp"

#include <string>

#include "test.hpp"

using enftun::config::RouterConfig;
using enftun::router::classify_router_change;
using enftun::router::router_config_to_apply;
using enftun::router::RouterChange;

namespace {

const std::string kBase = R"(
router: {
    listen = [ "::" ]; port = 4443; address = "fd00:e::1";
    cert_file = "r.pem"; key_file = "r.key"; ca_cert_file = "ca.pem";
    max_sessions = 100; idle_timeout = 180000;
    tun: { dev = "enfr0"; };
};
)";

struct State {
    RouterConfig running;
    RouterConfig fresh;
    RouterChange change;
};

RouterConfig load(const std::string& text) {
    auto c = enftun::config::load_router_config_from_string(text, "/etc/enftun");
    assert_true(c.has_value());
    return std::move(*c);
}

std::string edit(const std::string& from, const std::string& to) {
    std::string s = kBase;
    const auto at = s.find(from);
    assert_true(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

int setup(void** state) {
    *state = new State{load(kBase), {}, {}};
    return 0;
}

int teardown(void** state) {
    delete static_cast<State*>(*state);
    return 0;
}

State& st(void** state) {
    return *static_cast<State*>(*state);
}

void classify(void** state, const std::string& text) {
    State& s = st(state);
    s.fresh = load(text);
    s.change = classify_router_change(s.running, s.fresh);
}

void test_same_file_changes_nothing(void** state) {
    classify(state, kBase);
    const RouterChange& c = st(state).change;
    assert_true(c.live.empty() && c.tls.empty() && c.restart.empty());
}

void test_limits_are_live(void** state) {
    classify(state, edit("max_sessions = 100; idle_timeout = 180000;",
                         "max_sessions = 5; idle_timeout = 9000; max_handshakes = 8; "
                         "first_byte_timeout = 1000; queue_limit = 65536;"));
    const RouterChange& c = st(state).change;
    assert_int_equal(c.live.size(), 5);
    assert_string_equal(c.live[0].c_str(), "router.max_sessions");
    assert_true(c.tls.empty() && c.restart.empty());
}

void test_credentials_are_tls(void** state) {
    classify(state, edit("\"r.pem\"; key_file = \"r.key\"; ca_cert_file = \"ca.pem\"",
                         "\"r2.pem\"; key_file = \"r.key\"; ca_cert_file = \"ca2.pem\"; "
                         "crl_file = \"ca.crl\"; client_prefixes = [ \"fd00:e::/64\" ]"));
    const RouterChange& c = st(state).change;
    assert_int_equal(c.tls.size(), 4);
    assert_true(c.live.empty() && c.restart.empty());
}

void test_sockets_and_tun_need_restart(void** state) {
    classify(state, edit("listen = [ \"::\" ]; port = 4443; address = \"fd00:e::1\";",
                         "listen = [ \"::1\" ]; port = 4444; address = \"fd00:e::2\";"));
    assert_int_equal(st(state).change.restart.size(), 3);
    classify(state, edit("dev = \"enfr0\"", "dev = \"enfr1\""));
    assert_int_equal(st(state).change.restart.size(), 1);
    assert_string_equal(st(state).change.restart[0].c_str(), "router.tun");
    classify(state, edit("dev = \"enfr0\"", "dev = \"enfr0\"; offload = false"));
    assert_int_equal(st(state).change.restart.size(), 1);
    assert_string_equal(st(state).change.restart[0].c_str(), "router.tun");
    classify(state, edit("tun: { dev = \"enfr0\"; };", ""));
    assert_int_equal(st(state).change.restart.size(), 1);
}

void test_applied_config_keeps_restart_keys(void** state) {
    classify(state, R"(
router: {
    listen = [ "::1" ]; port = 4444; address = "fd00:e::2";
    cert_file = "r2.pem"; key_file = "r2.key"; ca_cert_file = "ca2.pem";
    max_sessions = 7; idle_timeout = 9000;
};
)");
    State& s = st(state);
    assert_int_equal(s.change.restart.size(), 4);
    const RouterConfig applied = router_config_to_apply(s.running, s.fresh);
    const RouterChange c = classify_router_change(s.running, applied);
    assert_true(c.restart.empty());
    assert_true(c.live == s.change.live);
    assert_true(c.tls == s.change.tls);
    assert_int_equal(applied.max_sessions, 7);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_file_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_are_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_are_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sockets_and_tun_need_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applied_config_keeps_restart_keys, setup, teardown),
    };
    return cmocka_run_group_tests_name("router_change", tests, nullptr, nullptr);
}
