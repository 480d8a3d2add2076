// Unit tests for router/router_change: which keys a router reload changed
// (live, TLS, restart), and that the config applied keeps the restart keys.
#include "enftun/router/router_change.hpp"

#include <string>

#include "change_fixture.hpp"
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

using Fx = test_change::Fixture<RouterConfig, RouterChange,
                                enftun::config::load_router_config_from_string, kBase>;
using State = Fx::State;

void classify(void** state, const std::string& text) {
    State& s = Fx::st(state);
    s.fresh = Fx::load(text);
    s.change = classify_router_change(s.running, s.fresh);
}

void test_same_file_changes_nothing(void** state) {
    classify(state, kBase);
    const RouterChange& c = Fx::st(state).change;
    assert_true(c.live.empty() && c.tls.empty() && c.restart.empty());
}

void test_limits_are_live(void** state) {
    classify(state, Fx::edit("max_sessions = 100; idle_timeout = 180000;",
                             "max_sessions = 5; idle_timeout = 9000; max_handshakes = 8; "
                             "first_byte_timeout = 1000; queue_limit = 65536;"));
    const RouterChange& c = Fx::st(state).change;
    assert_int_equal(c.live.size(), 5);
    assert_string_equal(c.live[0].c_str(), "router.max_sessions");
    assert_true(c.tls.empty() && c.restart.empty());
}

void test_credentials_are_tls(void** state) {
    classify(state, Fx::edit("\"r.pem\"; key_file = \"r.key\"; ca_cert_file = \"ca.pem\"",
                             "\"r2.pem\"; key_file = \"r.key\"; ca_cert_file = \"ca2.pem\"; "
                             "crl_file = \"ca.crl\"; client_prefixes = [ \"fd00:e::/64\" ]; "
                             "ipv4_client_prefixes = [ \"198.18.0.0/16\" ]"));
    const RouterChange& c = Fx::st(state).change;
    assert_int_equal(c.tls.size(), 5);
    assert_string_equal(c.tls[4].c_str(), "router.ipv4_client_prefixes");
    assert_true(c.live.empty() && c.restart.empty());
}

void test_sockets_and_tun_need_restart(void** state) {
    classify(state, Fx::edit("listen = [ \"::\" ]; port = 4443; address = \"fd00:e::1\";",
                             "listen = [ \"::1\" ]; port = 4444; address = \"fd00:e::2\";"));
    assert_int_equal(Fx::st(state).change.restart.size(), 3);
    classify(state, Fx::edit("dev = \"enfr0\"", "dev = \"enfr1\""));
    assert_int_equal(Fx::st(state).change.restart.size(), 1);
    assert_string_equal(Fx::st(state).change.restart[0].c_str(), "router.tun");
    classify(state, Fx::edit("dev = \"enfr0\"", "dev = \"enfr0\"; offload = false"));
    assert_int_equal(Fx::st(state).change.restart.size(), 1);
    assert_string_equal(Fx::st(state).change.restart[0].c_str(), "router.tun");
    classify(state, Fx::edit("tun: { dev = \"enfr0\"; };", ""));
    assert_int_equal(Fx::st(state).change.restart.size(), 1);
}

void test_applied_config_keeps_restart_keys(void** state) {
    classify(state, R"(
router: {
    listen = [ "::1" ]; port = 4444; address = "fd00:e::2";
    cert_file = "r2.pem"; key_file = "r2.key"; ca_cert_file = "ca2.pem";
    max_sessions = 7; idle_timeout = 9000;
};
)");
    State& s = Fx::st(state);
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
        cmocka_unit_test_setup_teardown(test_same_file_changes_nothing, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_limits_are_live, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_credentials_are_tls, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_sockets_and_tun_need_restart, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_applied_config_keeps_restart_keys, Fx::setup,
                                        Fx::teardown),
    };
    return cmocka_run_group_tests_name("router_change", tests, nullptr, nullptr);
}
