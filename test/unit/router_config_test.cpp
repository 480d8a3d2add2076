// Router config: loading, defaults, the optional tun group, path resolution
// and every error path. Fixture files live in $TEST_DATA_DIR/config; error
// cases are written to a mkdtemp folder next to the message they must give.
#include "enftun/config/router_config.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// Last: cmocka defines fail() and friends as macros, which would clash with
// std::basic_ios::fail() in <fstream>.
#include "config_fixture.hpp"
#include "test.hpp"

using namespace enftun::config;
using enftun::proto::Ipv6Addr;

namespace {

using Fixture = test_config::Fixture<RouterConfig>;
using test_config::data_path;
using test_config::ErrorCase;
using test_config::write_file;

Fixture& fx(void** state) {
    return *static_cast<Fixture*>(*state);
}

int setup(void** state) {
    return test_config::setup<RouterConfig>(state, load_router_config, "router.conf");
}

int teardown(void** state) {
    return test_config::teardown<RouterConfig>(state);
}

// A valid router group holding `extra` as well.
std::string router_with(const char* extra) {
    return std::string("router = {\n  address = \"fd00:e::1\";\n  cert_file = \"c\";\n"
                       "  key_file = \"k\";\n  ca_cert_file = \"ca\";\n") +
           extra + "\n};\n";
}

// ---- loading ----

void test_loads_full_router_config(void** state) {
    Fixture& f = fx(state);
    const RouterConfig& r = load_file(f, data_path("config/router-full.conf"));
    assert_int_equal(r.listen.size(), 2);
    assert_string_equal(r.listen[0].c_str(), "0.0.0.0");
    assert_string_equal(r.listen[1].c_str(), "fd00:1::2");
    assert_int_equal(r.port, 8443);
    assert_true(r.address == *Ipv6Addr::parse("fd00:e::1"));
    assert_string_equal(r.cert_file.c_str(), "/etc/enftun/router.crt.pem");
    assert_string_equal(r.key_file.c_str(), "/etc/enftun/router.key.pem");
    assert_string_equal(r.ca_cert_file.c_str(), "/etc/enftun/clients.ca.pem");
    assert_int_equal(r.max_sessions, 500);
    assert_int_equal(r.max_handshakes, 64);
    assert_int_equal(r.max_handshakes_per_source, 4);
    assert_int_equal(r.first_byte_timeout.count(), 2000);
    assert_int_equal(r.handshake_timeout.count(), 3000);
    assert_int_equal(r.idle_timeout.count(), 60000);
    assert_int_equal(r.mtu, 9000);
    assert_int_equal(r.queue_limit, 524288);
    assert_int_equal(r.busy_poll_us, 300);
    assert_int_equal(r.protocol, 1);
    assert_int_equal(r.client_prefixes.size(), 2);
    assert_int_equal(r.client_prefixes[1].len, 48);
    assert_true(r.client_prefixes[1].addr == *Ipv6Addr::parse("fd00:f::"));
    assert_int_equal(r.ipv4_client_prefixes.size(), 2);
    assert_int_equal(r.ipv4_client_prefixes[1].len, 22);
    assert_true(r.ipv4_client_prefixes[1].addr == (enftun::proto::Ipv4Addr{198, 19, 4, 0}));
    assert_true(r.tun.has_value());
    assert_string_equal(r.tun->dev.c_str(), "enfr9");
    assert_string_equal(r.tun->dev_node.c_str(), "/dev/net/tun2");
    assert_int_equal(r.tun->mtu, 2000);
    assert_true(r.tun->address.has_value());
    assert_true(*r.tun->address == *Ipv6Addr::parse("fd00:e::2"));
    assert_int_equal(r.tun->routes.size(), 2);
    assert_false(r.tun->routes[1].is_default);
    assert_int_equal(r.tun->routes[1].len, 48);
    assert_true(r.tun->routes[1].addr == *Ipv6Addr::parse("fd00:f::"));
    assert_int_equal(r.tun->route_protocol, 251);
    assert_int_equal(r.tun->route_table, 1000);
    assert_string_equal(r.tun->route_record.c_str(), "/run/enftun-router-2/routes");
    assert_false(r.tun->offload);
    assert_true(r.log.level == enftun::log::Level::Warn);
}

void test_router_defaults(void** state) {
    Fixture& f = fx(state);
    const RouterConfig& r = load_file(f, data_path("config/router-minimal.conf"));
    assert_int_equal(r.listen.size(), 1);
    assert_string_equal(r.listen[0].c_str(), "::");
    assert_int_equal(r.port, 4443);
    assert_int_equal(r.max_sessions, 10000);
    assert_int_equal(r.max_handshakes, 256);
    assert_int_equal(r.max_handshakes_per_source, 16);
    assert_int_equal(r.first_byte_timeout.count(), 3000);
    assert_int_equal(r.handshake_timeout.count(), 10000);
    assert_int_equal(r.idle_timeout.count(), 420000);
    assert_int_equal(r.mtu, 1500);
    assert_int_equal(r.queue_limit, 1048576);
    assert_int_equal(r.busy_poll_us, 0);
    assert_true(r.client_prefixes.empty());
    assert_true(r.ipv4_client_prefixes.empty()); // inner IPv4 off
    assert_false(r.tun.has_value());
    assert_true(r.log.level == enftun::log::Level::Info);
}

void test_router_tun_defaults(void** state) {
    Fixture& f = fx(state);
    const RouterConfig& r = load_text(f, router_with("  mtu = 9000;\n  tun = {};"));
    assert_true(r.tun.has_value());
    assert_string_equal(r.tun->dev.c_str(), "enfr0");
    assert_string_equal(r.tun->dev_node.c_str(), "/dev/net/tun");
    // The TUN's MTU follows router.mtu unless set.
    assert_int_equal(r.tun->mtu, 9000);
    assert_false(r.tun->address.has_value());
    assert_true(r.tun->routes.empty());
    assert_int_equal(r.tun->route_protocol, 250);
    assert_int_equal(r.tun->route_table, 254); // main
    assert_string_equal(r.tun->route_record.c_str(), "/run/enftun-router/routes");
    assert_true(r.tun->offload);
}

void test_router_resolves_relative_paths(void** state) {
    Fixture& f = fx(state);
    const RouterConfig& r = load_file(f, data_path("config/router-minimal.conf"));
    const std::string dir = std::filesystem::absolute(data_path("config")).string();
    f.text = dir + "/router.crt.pem";
    assert_string_equal(r.cert_file.c_str(), f.text.c_str());
    f.text = dir + "/keys/router.key.pem";
    assert_string_equal(r.key_file.c_str(), f.text.c_str());
    // Not normalised: ".." is left to the kernel, which knows symlinks.
    f.text = dir + "/../ca.pem";
    assert_string_equal(r.ca_cert_file.c_str(), f.text.c_str());
    assert_string_equal(
        load_text(f, router_with("  tun = { dev_node = \"tun\"; };")).tun->dev_node.c_str(),
        (f.dir + "/tun").c_str());
}

// router.control_socket: a default under /run, "" for none, a relative path
// from the file's folder; router.metrics_file: none unless set.
void test_router_status_paths(void** state) {
    Fixture& f = fx(state);
    const RouterConfig& d = load_text(f, router_with(""));
    assert_string_equal(d.control_socket.c_str(), "/run/enftun-router/router.sock");
    assert_true(d.metrics_file.empty());
    assert_true(load_text(f, router_with("  control_socket = \"\";")).control_socket.empty());
    const RouterConfig& r = load_text(
        f, router_with("  control_socket = \"r.sock\";\n  metrics_file = \"/m/r.prom\";"));
    assert_string_equal(r.control_socket.c_str(), (f.dir + "/r.sock").c_str());
    assert_string_equal(r.metrics_file.c_str(), "/m/r.prom");
    const std::string longest = "/" + std::string(106, 's');
    assert_string_equal(
        load_text(f, router_with(("  control_socket = \"" + longest + "\";").c_str()))
            .control_socket.c_str(),
        longest.c_str());
    expect_error(f, router_with(("  control_socket = \"" + longest + "s\";").c_str()), 6,
                 "router.control_socket", "longer than 107 bytes");
    expect_error(f, router_with("  metrics_file = \"\";"), 6, "router.metrics_file",
                 "must not be empty");
}

void test_router_port_as_string_or_int(void** state) {
    Fixture& f = fx(state);
    assert_int_equal(load_text(f, router_with("  port = \"443\";")).port, 443);
    assert_int_equal(load_text(f, router_with("  port = 65535;")).port, 65535);
}

void test_router_from_string(void** state) {
    Fixture& f = fx(state);
    f.result = load_router_config_from_string(router_with(""), "/srv/router", "r.conf");
    assert_string_equal(expect_loaded(f).key_file.c_str(), "/srv/router/k");
    f.result = load_router_config_from_string("router = 1;", "", "r.conf");
    assert_false(f.result->has_value());
    assert_string_equal(f.result->error().message.c_str(),
                        "r.conf:1: router: must be a group (got integer)");
}

// ---- errors ----

void test_router_reports_syntax_and_file_errors(void** state) {
    Fixture& f = fx(state);
    expect_error(f, "router = {\n  port = 4443;\n  mtu = = 1500;\n};\n", 3, "", "syntax error");
    expect_error(f, "router = {};\nrouter = {};\n", 2, "", "duplicate setting name");
    f.result = load_router_config(f.dir + "/missing.conf");
    assert_false(f.result->has_value());
    f.text = f.dir + "/missing.conf: cannot read config file: No such file or directory";
    assert_string_equal(f.result->error().message.c_str(), f.text.c_str());
}

void test_router_rejects_missing_group_and_keys(void** state) {
    static const ErrorCase cases[] = {
        {"empty file", "", 1, "router", "required group is missing"},
        {"client config", "# a client config\nremote = { hosts = [\"h\"]; };\n", 2, "remote",
         "unknown group"},
        {"not a group", "router = [\"a\"];\n", 1, "router", "must be a group (got array)"},
        {"address",
         "router = {\n  cert_file = \"c\"; key_file = \"k\"; ca_cert_file = \"ca\";\n};\n", 1,
         "router.address", "required key is missing"},
        {"cert_file",
         "\nrouter = {\n  address = \"fd00::1\"; key_file = \"k\"; ca_cert_file = "
         "\"ca\";\n};\n",
         2, "router.cert_file", "required key is missing"},
        {"key_file",
         "router = {\n  address = \"fd00::1\"; cert_file = \"c\"; ca_cert_file = "
         "\"ca\";\n};\n",
         1, "router.key_file", "required key is missing"},
        {"ca_cert_file",
         "router = {\n  address = \"fd00::1\"; cert_file = \"c\"; key_file = "
         "\"k\";\n};\n",
         1, "router.ca_cert_file", "required key is missing"},
        {"empty listen", "router = {\n  listen = [];\n};\n", 2, "router.listen",
         "must list at least one address"},
        {"empty path", "router = {\n  cert_file = \"\";\n};\n", 2, "router.cert_file",
         "must not be empty"},
    };
    expect_errors(fx(state), cases);
}

void test_router_rejects_unknown_keys(void** state) {
    static const ErrorCase cases[] = {
        {"top-level key", "version = \"1.0\";\n", 1, "version", "unknown key"},
        {"router key", "router = {\n  listen_port = 1;\n};\n", 2, "router.listen_port",
         "unknown key"},
        {"router group", "router = {\n  tls = {};\n};\n", 2, "router.tls", "unknown group"},
        {"tun key", "router = {\n  tun = {\n    route = [];\n  };\n};\n", 3, "router.tun.route",
         "unknown key"},
        {"log key", "log = {\n  levels = \"info\";\n};\n", 2, "log.levels", "unknown key"},
        {"log level", "router = { };\nlog = { level = \"trace\"; };\n", 2, "log.level",
         "must be \"error\", \"warning\", \"info\" or \"debug\""},
    };
    expect_errors(fx(state), cases);
}

void test_router_rejects_wrong_types(void** state) {
    static const ErrorCase cases[] = {
        {"int for address", "router = { address = 1; };\n", 1, "router.address",
         "must be a string (got integer)"},
        {"string for int", "router = { max_sessions = \"5\"; };\n", 1, "router.max_sessions",
         "must be an integer (got string)"},
        {"string for handshakes", "router = { max_handshakes = \"5\"; };\n", 1,
         "router.max_handshakes", "must be an integer (got string)"},
        {"float for first byte", "router = { first_byte_timeout = 2.5; };\n", 1,
         "router.first_byte_timeout", "must be an integer (got float)"},
        {"float for ms", "router = { idle_timeout = 1e4; };\n", 1, "router.idle_timeout",
         "must be an integer (got float)"},
        {"string for list", "router = { listen = \"::\"; };\n", 1, "router.listen",
         "must be a list of strings (got string)"},
        {"int in list", "router = {\n  listen = (\"::\",\n    0);\n};\n", 3, "router.listen[1]",
         "must be a string (got integer)"},
        {"float for port", "router = { port = 1.0; };\n", 1, "router.port",
         "must be a port number"},
        {"scalar tun", "router = {\n  tun = true;\n};\n", 2, "router.tun",
         "must be a group (got boolean)"},
        {"int for dev", "router = { tun = { dev = 0; }; };\n", 1, "router.tun.dev",
         "must be a string (got integer)"},
        {"string routes", "router = { tun = { routes = \"fd00::/8\"; }; };\n", 1,
         "router.tun.routes", "must be a list of strings (got string)"},
        {"string offload", "router = { tun = { offload = \"no\"; }; };\n", 1, "router.tun.offload",
         "must be a boolean (true or false) (got string)"},
    };
    expect_errors(fx(state), cases);
}

void test_router_rejects_out_of_range(void** state) {
    static const ErrorCase cases[] = {
        {"port 0", "router = { port = 0; };\n", 1, "router.port",
         "must be between 1 and 65535 (got 0)"},
        {"port string", "router = { port = \"99999\"; };\n", 1, "router.port", "(got \"99999\")"},
        {"sessions 0", "router = { max_sessions = 0; };\n", 1, "router.max_sessions",
         "must be between 1 and 1000000 (got 0)"},
        {"sessions high", "router = { max_sessions = 1000001; };\n", 1, "router.max_sessions",
         "(got 1000001)"},
        {"handshakes 0", "router = { max_handshakes = 0; };\n", 1, "router.max_handshakes",
         "must be between 1 and 65536 (got 0)"},
        {"handshakes high", "router = { max_handshakes = 65537; };\n", 1, "router.max_handshakes",
         "(got 65537)"},
        {"per source 0", "router = { max_handshakes_per_source = 0; };\n", 1,
         "router.max_handshakes_per_source", "must be between 1 and 65536 (got 0)"},
        {"per source high", "router = { max_handshakes_per_source = 100000; };\n", 1,
         "router.max_handshakes_per_source", "(got 100000)"},
        {"first byte", "router = { first_byte_timeout = 99; };\n", 1, "router.first_byte_timeout",
         "must be between 100 and 2147483647 (got 99)"},
        {"handshake", "router = { handshake_timeout = 99; };\n", 1, "router.handshake_timeout",
         "must be between 100 and 2147483647 (got 99)"},
        {"idle", "router = { idle_timeout = 999; };\n", 1, "router.idle_timeout",
         "must be between 1000 and 2147483647 (got 999)"},
        {"mtu low", "router = { mtu = 1279; };\n", 1, "router.mtu",
         "must be between 1280 and 65535 (got 1279)"},
        {"mtu high", "router = { mtu = 65536; };\n", 1, "router.mtu", "(got 65536)"},
        {"queue low", "router = { queue_limit = 65535; };\n", 1, "router.queue_limit",
         "must be between 65536 and 2147483647 (got 65535)"},
        {"queue 64-bit", "router = { queue_limit = 0x80000000L; };\n", 1, "router.queue_limit",
         "(got 2147483648)"},
        {"protocol 0", "router = { protocol = 0; };\n", 1, "router.protocol",
         "must be between 1 and 2 (got 0)"},
        {"busy poll negative", "router = { busy_poll_us = -1; };\n", 1, "router.busy_poll_us",
         "must be between 0 and 10000 (got -1)"},
        {"busy poll high", "router = { busy_poll_us = 10001; };\n", 1, "router.busy_poll_us",
         "(got 10001)"},
        {"tun mtu", "router = {\n  tun = {\n    mtu = 576;\n  };\n};\n", 3, "router.tun.mtu",
         "(got 576)"},
        {"tun mtu above router.mtu", "router = {\n  tun = {\n    mtu = 1501;\n  };\n};\n", 3,
         "router.tun.mtu", "must be between 1280 and 1500 (got 1501)"},
        {"tun ifname", "router = { tun = { dev = \"a:b\"; }; };\n", 1, "router.tun.dev",
         "must be an interface name"},
        {"route protocol static", "router = { tun = { route_protocol = 4; }; };\n", 1,
         "router.tun.route_protocol", "must be between 5 and 255 (got 4)"},
        {"route protocol high", "router = { tun = { route_protocol = 256; }; };\n", 1,
         "router.tun.route_protocol", "(got 256)"},
        {"route table local", "router = { tun = { route_table = 255; }; };\n", 1,
         "router.tun.route_table", "local table"},
        {"route table zero", "router = { tun = { route_table = 0; }; };\n", 1,
         "router.tun.route_table", "(got 0)"},
    };
    expect_errors(fx(state), cases);
}

void test_router_rejects_bad_addresses(void** state) {
    static const ErrorCase cases[] = {
        {"listen name", "router = { listen = [\"localhost\"]; };\n", 1, "router.listen[0]",
         "must be an IPv4 or IPv6 address (got \"localhost\")"},
        {"listen bracket", "router = { listen = [\"::\", \"[::1]\"]; };\n", 1, "router.listen[1]",
         "(got \"[::1]\")"},
        {"listen prefix", "router = { listen = [\"10.0.0.0/8\"]; };\n", 1, "router.listen[0]",
         "IPv4 or IPv6"},
        {"address v4", "router = { address = \"10.0.0.1\"; };\n", 1, "router.address",
         "must be a unicast IPv6 address such as fd00::1 (got \"10.0.0.1\")"},
        {"address any", "router = { address = \"::\"; };\n", 1, "router.address", "unicast IPv6"},
        {"address multicast", "router = { address = \"ff02::1\"; };\n", 1, "router.address",
         "unicast IPv6"},
        {"address prefix", "router = { address = \"fd00:e::1/64\"; };\n", 1, "router.address",
         "unicast IPv6"},
        {"tun address", "router = { tun = { address = \"fd00:e::x\"; }; };\n", 1,
         "router.tun.address", "unicast IPv6"},
        {"route default", "router = { tun = { routes = [\"default\"]; }; };\n", 1,
         "router.tun.routes[0]", "must be an IPv6 prefix such as fd00::/16 (got \"default\")"},
        {"route host bits",
         "router = {\n  tun = {\n    routes = [\"fd00:e::/64\", "
         "\"fd00:e::1/64\"];\n  };\n};\n",
         3, "router.tun.routes[1]", "has address bits set beyond the prefix length"},
        {"route length", "router = { tun = { routes = [\"fd00::/200\"]; }; };\n", 1,
         "router.tun.routes[0]", "IPv6 prefix"},
        {"client prefix address", "router = { client_prefixes = [\"fd00:e::5\"]; };\n", 1,
         "router.client_prefixes[0]", "must be an IPv6 prefix"},
        {"client prefix default", "router = { client_prefixes = [\"default\"]; };\n", 1,
         "router.client_prefixes[0]", "(got \"default\")"},
        {"client prefix host bits", "router = { client_prefixes = [\"fd00:e::1/64\"]; };\n", 1,
         "router.client_prefixes[0]", "has address bits set"},
        // The client's route.prefixes takes IPv4; these keys do not.
        {"client prefix v4", "router = { client_prefixes = [\"198.18.0.0/16\"]; };\n", 1,
         "router.client_prefixes[0]",
         "must be an IPv6 prefix such as fd00::/16 (got \"198.18.0.0/16\")"},
        {"route v4", "router = { tun = { routes = [\"198.18.0.0/16\"]; }; };\n", 1,
         "router.tun.routes[0]",
         "must be an IPv6 prefix such as fd00::/16 (got \"198.18.0.0/16\")"},
        {"ipv4 prefix v6", "router = { ipv4_client_prefixes = [\"fd00:e::/64\"]; };\n", 1,
         "router.ipv4_client_prefixes[0]",
         "must be an IPv4 prefix such as 198.18.0.0/16 (got \"fd00:e::/64\")"},
        {"ipv4 prefix no length", "router = { ipv4_client_prefixes = [\"198.18.0.0\"]; };\n", 1,
         "router.ipv4_client_prefixes[0]", "IPv4 prefix"},
        {"ipv4 prefix length",
         "router = {\n  ipv4_client_prefixes = [\"198.18.0.0/16\", \"198.18.0.0/33\"];\n};\n", 2,
         "router.ipv4_client_prefixes[1]", "IPv4 prefix"},
        {"ipv4 prefix host bits", "router = { ipv4_client_prefixes = [\"198.18.0.1/16\"]; };\n", 1,
         "router.ipv4_client_prefixes[0]", "has address bits set"},
    };
    expect_errors(fx(state), cases);
}

// ---- documentation ----

void test_loads_router_example_conf(void** state) {
    Fixture& f = fx(state);
    const std::string path = data_path("../../conf/router.conf");
    const RouterConfig& r = load_file(f, path);
    // The example shows the defaults except where its comments say "Here:".
    assert_true(r.listen == RouterConfig{}.listen);
    assert_int_equal(r.port, RouterConfig{}.port);
    assert_int_equal(r.max_sessions, RouterConfig{}.max_sessions);
    assert_true(r.handshake_timeout == RouterConfig{}.handshake_timeout);
    assert_true(r.idle_timeout == RouterConfig{}.idle_timeout);
    assert_int_equal(r.mtu, RouterConfig{}.mtu);
    assert_int_equal(r.queue_limit, RouterConfig{}.queue_limit);
    assert_string_equal(r.tun->dev_node.c_str(), RouterTunConfig{}.dev_node.c_str());
    assert_true(r.cert_file.starts_with("/etc/enftun/"));
    assert_true(r.tun.has_value());
    assert_string_equal(r.tun->dev.c_str(), "enfr0");
    assert_int_equal(r.tun->mtu, r.mtu);
    assert_false(r.tun->address.has_value());
    assert_int_equal(r.tun->routes.size(), 1);

    // The commented-out optional key parses too.
    std::ifstream in(path);
    f.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const std::string commented = "# address = \"fd00:e::1\";";
    const std::size_t at = f.text.find(commented);
    assert_true(at != std::string::npos);
    f.text.replace(at, commented.size(), commented.substr(2));
    f.result = load_router_config_from_string(f.text, "/etc/enftun");
    assert_true(expect_loaded(f).tun->address.has_value());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loads_full_router_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_tun_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_resolves_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_port_as_string_or_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_status_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_from_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_reports_syntax_and_file_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_missing_group_and_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_rejects_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loads_router_example_conf, setup, teardown),
    };
    return cmocka_run_group_tests_name("router_config", tests, nullptr, nullptr);
}
