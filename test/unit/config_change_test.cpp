// Unit tests for client/config_change: which keys a reload changed and
// what applying each takes (live, reconnect, restart), and that the config
// applied keeps every restart key at its running value.
#include "enftun/client/config_change.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "change_fixture.hpp"
#include "test.hpp"

using enftun::config::ClientConfig;
using enftun::tunnel::change_kind;
using enftun::tunnel::ChangeKind;
using enftun::tunnel::classify_change;
using enftun::tunnel::config_to_apply;
using enftun::tunnel::ConfigChange;

namespace {

const std::string kBase = R"(
tun: { dev = "enf0"; mtu = 1280; busy_poll_us = 200; control_socket = "/run/enftun/test.sock"; };
remote: {
    hosts = [ "fd00:1::1" ]; port = 4443; ca_cert_file = "ca.pem";
    heartbeat_period = 60000; heartbeat_timeout = 15000;
};
route: { ra_period = 600000; prefixes = [ "default" ]; };
identity: { cert_file = "c.pem"; key_file = "c.key"; };
)";

using Fx = test_change::Fixture<ClientConfig, ConfigChange,
                                enftun::config::load_client_config_from_string, kBase>;
using State = Fx::State;

// One edit: exactly `key` changed, of kind `kind`.
void expect_only(void** state, const std::string& from, const std::string& to, const char* key,
                 ChangeKind kind) {
    State& s = Fx::st(state);
    s.fresh = Fx::load(Fx::edit(from, to));
    s.change = classify_change(s.running, s.fresh);
    const auto& list = kind == ChangeKind::Live        ? s.change.live
                       : kind == ChangeKind::Reconnect ? s.change.reconnect
                                                       : s.change.restart;
    assert_int_equal(s.change.live.size() + s.change.reconnect.size() + s.change.restart.size(), 1);
    assert_int_equal(list.size(), 1);
    assert_string_equal(list[0].c_str(), key);
}

void test_same_file_changes_nothing(void** state) {
    State& s = Fx::st(state);
    s.fresh = Fx::load(kBase);
    assert_true(classify_change(s.running, s.fresh).empty());
}

void test_timing_is_live(void** state) {
    expect_only(state, "heartbeat_period = 60000", "heartbeat_period = 500",
                "remote.heartbeat_period", ChangeKind::Live);
    expect_only(state, "heartbeat_timeout = 15000", "heartbeat_timeout = 2000",
                "remote.heartbeat_timeout", ChangeKind::Live);
    expect_only(state, "port = 4443;", "port = 4443; reconnect_max_delay = 5000;",
                "remote.reconnect_max_delay", ChangeKind::Live);
    expect_only(state, "busy_poll_us = 200", "busy_poll_us = 0", "tun.busy_poll_us",
                ChangeKind::Live);
    expect_only(state, "ra_period = 600000", "ra_period = 30000", "route.ra_period",
                ChangeKind::Live);
}

void test_remote_and_identity_reconnect(void** state) {
    expect_only(state, "port = 4443", "port = 4444", "remote.port", ChangeKind::Reconnect);
    expect_only(state, "[ \"fd00:1::1\" ]", "[ \"fd00:1::1\", \"fd00:1::2\" ]", "remote.hosts",
                ChangeKind::Reconnect);
    expect_only(state, "\"ca.pem\"", "\"ca2.pem\"", "remote.ca_cert_file", ChangeKind::Reconnect);
    expect_only(state, "port = 4443;", "port = 4443; server_name = \"router.example\";",
                "remote.server_name", ChangeKind::Reconnect);
    expect_only(state, "\"c.key\"", "\"d.key\"", "identity.key_file", ChangeKind::Reconnect);
    assert_int_equal(static_cast<int>(change_kind("identity.tpm.tcti")),
                     static_cast<int>(ChangeKind::Reconnect));
}

void test_tun_setup_needs_restart(void** state) {
    expect_only(state, "dev = \"enf0\"", "dev = \"enf1\"", "tun.dev", ChangeKind::Restart);
    expect_only(state, "mtu = 1280", "mtu = 1400", "tun.mtu", ChangeKind::Restart);
    expect_only(state, "[ \"default\" ]", "[ \"fd00:2::/48\" ]", "route.prefixes",
                ChangeKind::Restart);
    expect_only(state, "tun: {", "tun: { set_address = false;", "tun.set_address",
                ChangeKind::Restart);
    expect_only(state, "tun: {", "tun: { offload = false;", "tun.offload", ChangeKind::Restart);
    // Unknown to the table (a key added later): restart, the safe side.
    assert_int_equal(static_cast<int>(change_kind("control.socket")),
                     static_cast<int>(ChangeKind::Restart));
}

// route.prefixes' IPv4 entries are enftun-setup's routes too: a change is
// a restart, and the running ones stay until then.
void test_ipv4_prefix_change_needs_restart(void** state) {
    State& s = Fx::st(state);
    const std::string from = "prefixes = [ \"default\" ];";
    s.running = Fx::load(Fx::edit(from, "prefixes = [ \"198.18.0.0/16\" ]; allow_ipv4 = true;"));
    s.fresh = Fx::load(Fx::edit(from, "prefixes = [ \"198.19.0.0/16\" ]; allow_ipv4 = true;"));
    s.change = classify_change(s.running, s.fresh);
    assert_true(s.change.live.empty() && s.change.reconnect.empty());
    assert_int_equal(s.change.restart.size(), 1);
    assert_string_equal(s.change.restart[0].c_str(), "route.prefixes");
    s.fresh = config_to_apply(s.running, s.fresh);
    assert_int_equal(s.fresh.route.ipv4_prefixes.size(), 1);
    assert_true(s.fresh.route.ipv4_prefixes[0].addr == (enftun::proto::Ipv4Addr{198, 18, 0, 0}));
}

void test_mixed_change_sorted_in_file_order(void** state) {
    State& s = Fx::st(state);
    std::string text = Fx::edit("dev = \"enf0\"", "dev = \"enf1\"");
    text.replace(text.find("port = 4443"), 11, "port = 4444");
    text.replace(text.find("heartbeat_period = 60000"), 24, "heartbeat_period = 500");
    s.fresh = Fx::load(text);
    s.change = classify_change(s.running, s.fresh);
    assert_int_equal(s.change.live.size(), 1);
    assert_int_equal(s.change.reconnect.size(), 1);
    assert_int_equal(s.change.restart.size(), 1);
    assert_true(s.change.changed("tun.dev"));
    assert_true(s.change.changed("remote.port"));
    assert_false(s.change.changed("remote.hosts"));
}

// Whatever changes, the config applied differs from the running one only
// in keys that are not Restart: every Restart key is kept, and every other
// change goes through.
void test_applied_config_keeps_restart_keys(void** state) {
    State& s = Fx::st(state);
    s.fresh = Fx::load(R"(
tun: { dev = "enf9"; dev_node = "/dev/other"; set_address = false; mtu = 1400;
       lladdr = "02:00:00:00:00:09"; busy_poll_us = 0; ipv4_address = "198.18.0.9";
       offload = false; };
remote: {
    hosts = [ "fd00:1::2" ]; port = 4444; ca_cert_file = "ca2.pem";
    server_name = "r.example"; heartbeat_period = 500; heartbeat_timeout = 2000;
    connect_timeout = 1000; reconnect_max_delay = 3000; reconnect_stable_period = 4000;
};
route: { fwmark = 7; table = 8; prefixes = [ "fd00:2::/48" ]; trusted_interfaces = [ "eth9" ];
         allow_ipv4 = true; ra_period = 30000; };
identity: { cert_file = "d.pem"; key_file = "d.key"; ip_file = "ip"; duid_file = "duid2"; };
enroll: { url = "https://e.example"; };
)");
    const ConfigChange all = classify_change(s.running, s.fresh);
    assert_true(all.restart.size() >= 10);
    assert_true(all.live.size() >= 7);
    assert_true(all.reconnect.size() >= 6);
    const ClientConfig applied = config_to_apply(s.running, s.fresh);
    s.change = classify_change(s.running, applied);
    assert_true(s.change.restart.empty());
    assert_true(s.change.live == all.live);
    assert_true(s.change.reconnect == all.reconnect);
    assert_true(classify_change(applied, s.fresh).restart == all.restart);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_file_changes_nothing, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_timing_is_live, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_remote_and_identity_reconnect, Fx::setup,
                                        Fx::teardown),
        cmocka_unit_test_setup_teardown(test_tun_setup_needs_restart, Fx::setup, Fx::teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_prefix_change_needs_restart, Fx::setup,
                                        Fx::teardown),
        cmocka_unit_test_setup_teardown(test_mixed_change_sorted_in_file_order, Fx::setup,
                                        Fx::teardown),
        cmocka_unit_test_setup_teardown(test_applied_config_keeps_restart_keys, Fx::setup,
                                        Fx::teardown),
    };
    return cmocka_run_group_tests_name("config_change", tests, nullptr, nullptr);
}
