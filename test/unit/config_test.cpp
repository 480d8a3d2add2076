// Client config: loading, defaults, path resolution, every error path, the
// -p printer and the value parsers. Fixture files live in
// $TEST_DATA_DIR/config; error cases are written to a mkdtemp folder so each
// case's text sits next to the message it must produce.
#include "enftun/config/client_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// Last: cmocka defines fail() and friends as macros, which would clash with
// std::basic_ios::fail() in <fstream>.
#include "config_fixture.hpp"
#include "test.hpp"

using namespace enftun::config;

namespace {

using Fixture = test_config::Fixture<ClientConfig>;
using test_config::data_path;
using test_config::ErrorCase;
using test_config::write_file;

Fixture& fx(void** state) {
    return *static_cast<Fixture*>(*state);
}

int setup(void** state) {
    return test_config::setup<ClientConfig>(state, load_client_config, "enf0.conf");
}

int teardown(void** state) {
    return test_config::teardown<ClientConfig>(state);
}

std::string print(Fixture& f, std::string_view key) {
    auto r = print_client_key(**f.result, key);
    if (!r) {
        print_error("print %.*s: %s\n", static_cast<int>(key.size()), key.data(),
                    r.error().message.c_str());
        fail();
    }
    return *r;
}

// The keys every valid test config needs; errors elsewhere outrank them.
constexpr const char* kRequired =
    "remote = { hosts = [\"fd00:100::1\"]; ca_cert_file = \"ca\"; };\n"
    "identity = { cert_file = \"c\"; key_file = \"k\"; };\n";

// ---- loading ----

void test_loads_full_config(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c = load_file(f, data_path("config/client-full.conf"));
    assert_string_equal(c.tun.dev.c_str(), "enf7");
    assert_string_equal(c.tun.dev_node.c_str(), "/dev/net/tun2");
    assert_false(c.tun.set_address);
    assert_int_equal(c.tun.mtu, 1400);
    assert_true(c.tun.lladdr.has_value());
    assert_true((*c.tun.lladdr == MacAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}));
    assert_int_equal(c.tun.busy_poll_us, 250);
    assert_false(c.tun.offload);
    assert_int_equal(c.remote.hosts.size(), 3);
    assert_string_equal(c.remote.hosts[2].c_str(), "enf.example.net");
    assert_int_equal(c.remote.port, 4443);
    assert_string_equal(c.remote.ca_cert_file.c_str(), "/etc/enftun/ca.pem");
    assert_int_equal(c.remote.heartbeat_period.count(), 30000);
    assert_int_equal(c.remote.heartbeat_timeout.count(), 5000);
    assert_int_equal(c.remote.connect_timeout.count(), 2000);
    assert_int_equal(c.remote.reconnect_max_delay.count(), 120000);
    assert_int_equal(c.remote.reconnect_stable_period.count(), 45000);
    assert_int_equal(c.remote.protocol, 1);
    assert_int_equal(c.route.fwmark, 363);
    assert_int_equal(c.route.table, 4000);
    assert_int_equal(c.route.prefixes.size(), 2);
    assert_false(c.route.prefixes[0].is_default);
    assert_int_equal(c.route.prefixes[1].len, 48);
    assert_true(c.route.prefixes[1].addr == *enftun::proto::Ipv6Addr::parse("2001:db8:1::"));
    assert_string_equal(c.route.prefixes[1].text.c_str(), "2001:db8:1::/48");
    assert_int_equal(c.route.trusted_interfaces.size(), 2);
    assert_string_equal(c.route.trusted_interfaces[1].c_str(), "wlan0");
    assert_true(c.route.allow_ipv4);
    assert_int_equal(c.route.ra_period.count(), 300000);
    assert_string_equal(c.identity.cert_file.c_str(), "/etc/enftun/enf0.crt.pem");
    assert_string_equal(c.identity.key_file.c_str(), "/etc/enftun/enf0.key.pem");
    assert_string_equal(c.identity.ip_file.value_or("").c_str(), "/etc/enftun/enf0.ip");
    assert_string_equal(c.identity.duid_file.c_str(), "/var/lib/enftun/duid");
}

void test_minimal_config_takes_defaults(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c = load_file(f, data_path("config/client-minimal.conf"));
    assert_string_equal(c.tun.dev.c_str(), "enf0");
    assert_string_equal(c.tun.dev_node.c_str(), "/dev/net/tun");
    assert_true(c.tun.set_address);
    assert_int_equal(c.tun.mtu, 1280);
    assert_false(c.tun.lladdr.has_value());
    assert_int_equal(c.tun.busy_poll_us, 0);
    assert_true(c.tun.offload);
    assert_int_equal(c.remote.port, 443);
    assert_int_equal(c.remote.heartbeat_period.count(), 60000);
    assert_int_equal(c.remote.heartbeat_timeout.count(), 15000);
    assert_int_equal(c.remote.connect_timeout.count(), 5000);
    assert_int_equal(c.remote.reconnect_max_delay.count(), 60000);
    assert_int_equal(c.remote.reconnect_stable_period.count(), 30000);
    assert_int_equal(c.route.fwmark, 363);
    assert_int_equal(c.route.table, 2097);
    assert_int_equal(c.route.prefixes.size(), 1);
    assert_true(c.route.prefixes[0].is_default);
    assert_true(c.route.trusted_interfaces.empty());
    assert_false(c.route.allow_ipv4);
    assert_int_equal(c.route.ra_period.count(), 600000);
    assert_false(c.identity.ip_file.has_value());
}

void test_resolves_relative_paths(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c = load_file(f, data_path("config/client-minimal.conf"));
    f.text = std::filesystem::absolute(data_path("config")).string() + "/ca.pem";
    assert_string_equal(c.remote.ca_cert_file.c_str(), f.text.c_str());
    assert_true(c.identity.cert_file.starts_with("/"));
    assert_true(c.identity.cert_file.ends_with("/config/certs/enf0.crt.pem"));
    assert_true(c.identity.key_file.ends_with("/config/enf0.key.pem"));
    // duid_file defaults to "duid" in the certificate's folder.
    assert_true(c.identity.duid_file.ends_with("/config/certs/duid"));
    // Absolute paths are kept as written.
    assert_string_equal(c.tun.dev_node.c_str(), "/dev/net/tun");
}

void test_relative_config_path_gives_absolute_paths(void** state) {
    Fixture& f = fx(state);
    write_file(f.path, std::string(kRequired) + "tun = { dev_node = \"tun\"; };\n");
    std::filesystem::current_path(f.dir);
    const ClientConfig& c = load_file(f, "enf0.conf");
    f.text = std::filesystem::current_path().string() + "/c";
    assert_string_equal(c.identity.cert_file.c_str(), f.text.c_str());
    f.text = std::filesystem::current_path().string() + "/tun";
    assert_string_equal(c.tun.dev_node.c_str(), f.text.c_str());
}

// A valid config whose remote group also holds `extra`.
std::string with_remote(const char* extra) {
    return std::string("remote = { hosts = [\"h\"]; ca_cert_file = \"ca\"; ") + extra +
           " };\nidentity = { cert_file = \"c\"; key_file = \"k\"; };\n";
}

void test_port_as_string_or_int(void** state) {
    Fixture& f = fx(state);
    // The original enftun wrote the port as a string.
    assert_int_equal(load_text(f, with_remote("port = \"4443\";")).remote.port, 4443);
    assert_int_equal(load_text(f, with_remote("port = \"0443\";")).remote.port, 443);
    assert_int_equal(load_text(f, with_remote("port = 8443;")).remote.port, 8443);
    assert_int_equal(load_text(f, with_remote("port = 0x1bb;")).remote.port, 443);
}

void test_reads_hex_and_64_bit_integers(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c = load_text(
        f, std::string(kRequired) + "route = { fwmark = 0xffffffff; table = 4000000000L; };\n");
    assert_int_equal(c.route.fwmark, 0xffffffffU);
    assert_int_equal(c.route.table, 4000000000U);
}

// tun.control_socket follows tun.dev unless set; "" turns it off.
void test_control_socket_default_follows_dev(void** state) {
    Fixture& f = fx(state);
    const std::string base = kRequired;
    assert_string_equal(
        load_text(f, base + "tun = { dev = \"wg3\"; };\n").tun.control_socket.c_str(),
        "/run/enftun/wg3.sock");
    assert_string_equal(
        load_text(f, base + "tun = { control_socket = \"\"; };\n").tun.control_socket.c_str(), "");
    assert_string_equal(load_text(f, base).tun.control_socket.c_str(), "/run/enftun/enf0.sock");
    // Relative: to the config's folder, like every path.
    assert_string_equal(
        load_text(f, base + "tun = { control_socket = \"c.sock\"; };\n").tun.control_socket.c_str(),
        (f.dir + "/c.sock").c_str());
}

// tun.backoff_file sits next to the control socket unless set; "" turns it
// off; with no control socket it is /run/enftun/DEV.backoff.
void test_backoff_file_default_follows_control_socket(void** state) {
    Fixture& f = fx(state);
    const std::string base = kRequired;
    assert_string_equal(load_text(f, base).tun.backoff_file.c_str(), "/run/enftun/enf0.backoff");
    assert_string_equal(load_text(f, base + "tun = { dev = \"wg3\"; };\n").tun.backoff_file.c_str(),
                        "/run/enftun/wg3.backoff");
    assert_string_equal(
        load_text(f, base + "tun = { control_socket = \"c.sock\"; };\n").tun.backoff_file.c_str(),
        (f.dir + "/c.backoff").c_str());
    assert_string_equal(load_text(f, base + "tun = { control_socket = \"/run/x/ctl\"; };\n")
                            .tun.backoff_file.c_str(),
                        "/run/x/ctl.backoff");
    assert_string_equal(load_text(f, base + "tun = { dev = \"wg3\"; control_socket = \"\"; };\n")
                            .tun.backoff_file.c_str(),
                        "/run/enftun/wg3.backoff");
    assert_string_equal(
        load_text(f, base + "tun = { backoff_file = \"\"; };\n").tun.backoff_file.c_str(), "");
    assert_string_equal(
        load_text(f, base + "tun = { backoff_file = \"b\"; };\n").tun.backoff_file.c_str(),
        (f.dir + "/b").c_str());
}

void test_accepts_lists_and_arrays(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c =
        load_text(f, "remote = { hosts = (\"a\", \"b\"); ca_cert_file = \"ca\"; };\n"
                     "identity = { cert_file = \"c\"; key_file = \"k\"; };\n"
                     "route = { prefixes = []; trusted_interfaces = (\"eth0\"); };\n");
    assert_int_equal(c.remote.hosts.size(), 2);
    assert_true(c.route.prefixes.empty());
    assert_int_equal(c.route.trusted_interfaces.size(), 1);
}

void test_accepts_original_version_key(void** state) {
    Fixture& f = fx(state);
    load_text(f, std::string("version = \"1.0\";\n") + kRequired);
    expect_error(f, "version = 1;\n", 1, "version", "must be a string (got integer)");
}

// ---- keys of the original C enftun ----

// Warning i is "<f.path>:<line>: <key>: ignored: ...<fragment>...".
void expect_warning(Fixture& f, std::size_t i, int line, const char* key, const char* fragment) {
    const ClientConfig& c = expect_loaded(f);
    if (i >= c.warnings.size()) {
        print_error("warning %zu missing (%zu warnings)\n", i, c.warnings.size());
        fail();
    }
    const std::string& w = c.warnings[i];
    f.text = f.path + ":" + std::to_string(line) + ": " + key + ": ignored: ";
    if (w.rfind(f.text, 0) != 0 || w.find(fragment) == std::string::npos) {
        print_error("warning %zu:\n  got      \"%s\"\n  expected \"%s...%s...\"\n", i, w.c_str(),
                    f.text.c_str(), fragment);
        fail();
    }
}

// A config as the original enftun's example/device.conf wrote it loads;
// what does not apply here is a warning each (top-level groups first).
void test_accepts_original_enftun_keys(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c =
        load_text(f, "version = \"1.0\";\n"
                     "remote = { hosts = [\"fd00:100::1\"]; ca_cert_file = \"ca\"; };\n"
                     "tun : {\n"
                     "  dev = \"enf0\";\n"
                     "  ip_path = \"/bin/ip\";\n" // line 5
                     "  ip_set = false;\n"
                     "};\n"
                     "identity : {\n"
                     "  cert_file = \"c\";\n"
                     "  key_file = \"k\";\n"
                     "  tpm : {\n" // line 11
                     "    # device = \"/dev/tpm0\"\n"
                     "  };\n"
                     "  xtt : { };\n" // line 14
                     "};\n"
                     "trace : { pcap_file = \"/tmp/enftun.pcap\"; };\n" // line 16
                     "nat : { };\n");                                   // line 17
    assert_false(c.tun.set_address);
    assert_string_equal(c.identity.cert_file.c_str(), (f.dir + "/c").c_str());
    // Its empty tpm group means what it meant there: the key is in the TPM,
    // with the defaults (the device, now the resource manager's node).
    assert_true(c.identity.tpm.has_value());
    assert_int_equal(static_cast<int>(c.identity.tpm->tcti),
                     static_cast<int>(TpmConfig::Tcti::Device));
    assert_string_equal(c.identity.tpm->device.c_str(), "/dev/tpmrm0");
    assert_string_equal(c.identity.key_file.c_str(), (f.dir + "/k").c_str());
    assert_int_equal(c.warnings.size(), 4);
    expect_warning(f, 0, 17, "nat", "NAT is not supported");
    expect_warning(f, 1, 16, "trace", "packet tracing");
    expect_warning(f, 2, 5, "tun.ip_path", "netlink");
    expect_warning(f, 3, 14, "identity.xtt", "XTT identity is not supported by this enftun");
    // A config without them has no warnings.
    assert_true(load_text(f, kRequired).warnings.empty());
}

void test_ip_set_is_set_address(void** state) {
    Fixture& f = fx(state);
    const std::string req = kRequired;
    assert_false(load_text(f, req + "tun = { ip_set = false; };\n").tun.set_address);
    assert_true(load_text(f, req + "tun = { ip_set = true; };\n").tun.set_address);
    const ClientConfig& both =
        load_text(f, req + "tun = { ip_set = false; set_address = false; };\n");
    assert_false(both.tun.set_address);
    assert_true(both.warnings.empty());
    assert_string_equal(print(f, "tun.set_address").c_str(), "false");
    // -p knows the old name too (the original's scripts ask for it).
    assert_string_equal(print(f, "tun.ip_set").c_str(), "false");
    load_text(f, req + "tun = { ip_set = true; };\n");
    assert_string_equal(print(f, "tun.ip_set").c_str(), "true");
    expect_error(f, req + "tun = {\n  set_address = true;\n  ip_set = false;\n};\n", 5,
                 "tun.ip_set", "conflicts with tun.set_address");
}

// identity.tpm.password in a file every user may read: a warning naming
// the file and its mode; none once the file is 0640, none without a password.
void test_tpm_password_in_a_world_readable_file_warns(void** state) {
    Fixture& f = fx(state);
    const std::string text = "remote = { hosts = [\"fd00:100::1\"]; ca_cert_file = \"ca\"; };\n"
                             "identity = { cert_file = \"c\"; key_file = \"k\";\n"
                             "  tpm = { password = \"pw\"; };\n};\n";
    write_file(f.path, text);
    assert_int_equal(::chmod(f.path.c_str(), 0644), 0);
    const ClientConfig& c = load_file(f, f.path);
    assert_int_equal(c.warnings.size(), 1);
    assert_non_null(std::strstr(c.warnings[0].c_str(), "identity.tpm.password is in a file every "
                                                       "user may read (mode 0644)"));
    assert_int_equal(::chmod(f.path.c_str(), 0640), 0);
    assert_int_equal(load_file(f, f.path).warnings.size(), 0);
    write_file(f.path, std::string(kRequired));
    assert_int_equal(::chmod(f.path.c_str(), 0644), 0);
    assert_int_equal(load_file(f, f.path).warnings.size(), 0);
}

// identity.tpm: the original's keys, its persistent-handle key_file, and
// the values the tpm2 provider cannot honour.
void test_reads_tpm_group(void** state) {
    Fixture& f = fx(state);
    const std::string remote = "remote = { hosts = [\"fd00:100::1\"]; ca_cert_file = \"ca\"; };\n";
    const ClientConfig& c = load_text(
        f, remote +
               "identity = { cert_file = \"c\"; key_file = \"0x81000010\";\n"
               "  tpm = { tcti = \"socket\"; socket_host = \"tpm.local\"; socket_port = \"2400\";\n"
               "          password = \"pw\"; parent = 0x81000001; hierarchy = 0; };\n};\n");
    assert_true(c.identity.tpm.has_value());
    assert_int_equal(static_cast<int>(c.identity.tpm->tcti),
                     static_cast<int>(TpmConfig::Tcti::Socket));
    assert_string_equal(c.identity.tpm->socket_host.c_str(), "tpm.local");
    assert_int_equal(c.identity.tpm->socket_port, 2400);
    assert_string_equal(c.identity.tpm->password.value_or("").c_str(), "pw");
    assert_int_equal(c.identity.tpm->parent, 0x81000001u);
    // A persistent handle stays a handle (the provider's URI), not a path.
    assert_string_equal(c.identity.key_file.c_str(), "handle:0x81000010");
    assert_string_equal(print(f, "identity.key_file").c_str(), "handle:0x81000010");
    assert_string_equal(print(f, "identity.tpm.tcti").c_str(), "socket");
    load_text(f, remote + "identity = { cert_file = \"c\"; key_file = \"handle:0x81ABCDEF\";\n"
                          "  tpm = { device = \"/dev/tpm0\"; }; };\n");
    assert_string_equal(print(f, "identity.key_file").c_str(), "handle:0x81abcdef");
    assert_string_equal(print(f, "identity.tpm.device").c_str(), "/dev/tpm0");
    // Without the group, the same text is a file name next to the config.
    load_text(f, remote + "identity = { cert_file = \"c\"; key_file = \"0x81000010\"; };\n");
    assert_string_equal(print(f, "identity.key_file").c_str(), (f.dir + "/0x81000010").c_str());
    assert_string_equal(print(f, "identity.tpm.enable").c_str(), "0");
    // A handle outside the persistent range is a file name too.
    load_text(f, remote +
                     "identity = { cert_file = \"c\"; key_file = \"0x80000010\"; tpm = { }; };\n");
    assert_string_equal(print(f, "identity.key_file").c_str(), (f.dir + "/0x80000010").c_str());

    // Texts first: ErrorCase holds pointers.
    const std::string id = remote + "identity = { cert_file = \"c\"; key_file = \"k\";\n";
    const std::string tcti = id + "  tpm = { tcti = \"mssim\"; };\n};\n";
    const std::string hierarchy = id + "  tpm = {\n    hierarchy = 0x4000000B; };\n};\n";
    const std::string parent = id + "  tpm = { parent = 0x40000001; };\n};\n";
    const std::string port = id + "  tpm = { socket_port = 0; };\n};\n";
    const std::string unknown = id + "  tpm = { remote_port = \"444\"; };\n};\n";
    const std::string password = id + "  tpm = { password = 1; };\n};\n";
    const ErrorCase cases[] = {
        {"tcti", tcti.c_str(), 3, "identity.tpm.tcti",
         "must be \"device\" (a TPM device node), \"socket\""},
        {"hierarchy", hierarchy.c_str(), 4, "identity.tpm.hierarchy",
         "only the owner hierarchy is supported"},
        {"parent", parent.c_str(), 3, "identity.tpm.parent",
         "must be 0 (a primary key of the owner hierarchy) or a persistent"},
        {"port", port.c_str(), 3, "identity.tpm.socket_port", ""},
        {"unknown", unknown.c_str(), 3, "identity.tpm.remote_port", "unknown key"},
        {"password type", password.c_str(), 3, "identity.tpm.password",
         "must be a string (got integer)"},
        {"tpm not a group", "identity = { tpm = true; };\n", 1, "identity.tpm",
         "must be a group (got boolean)"},
    };
    expect_errors(f, cases);
}

// log.level: the four levels of log/log.hpp, nothing else; -v raises it.
void test_log_level(void** state) {
    Fixture& f = fx(state);
    const std::string required = "remote = { hosts = [\"h\"]; ca_cert_file = \"ca\"; };\n"
                                 "identity = { cert_file = \"c\"; key_file = \"k\"; };\n";
    for (const char* level : {"error", "warning", "info", "debug"}) {
        load_text(f, required + "log = { level = \"" + level + "\"; };\n");
        assert_string_equal(print(f, "log.level").c_str(), level);
    }
    assert_true(enftun::log::more_verbose(enftun::log::Level::Warn, 1) == enftun::log::Level::Info);
    assert_true(enftun::log::more_verbose(enftun::log::Level::Info, 5) ==
                enftun::log::Level::Debug);
    assert_true(enftun::log::more_verbose(enftun::log::Level::Error, 0) ==
                enftun::log::Level::Error);
    const std::string bad = required + "log = {\n  level = \"verbose\";\n};\n";
    const std::string unknown = required + "log = { file = \"x\"; };\n";
    const ErrorCase cases[] = {
        {"level", bad.c_str(), 4, "log.level",
         "must be \"error\", \"warning\", \"info\" or \"debug\" (got \"verbose\")"},
        {"unknown", unknown.c_str(), 3, "log.file", "unknown key"},
    };
    expect_errors(f, cases);
}

void test_rejects_original_enftun_keys_it_cannot_honour(void** state) {
    static const ErrorCase cases[] = {
        {"xtt with settings", "identity = {\n  xtt = {\n    remote_port = \"444\";\n  };\n};\n", 2,
         "identity.xtt", "not supported by this enftun: XTT identity"},
        {"nat rules", "\nnat = { rules = ( { proto = \"tcp\"; } ); };\n", 2, "nat",
         "not supported by this enftun: NAT rules"},
        {"slirp", "slirp = { };\n", 1, "slirp", "not supported by this enftun: the slirp"},
        {"ip_path not a string", "tun = { ip_path = 1; };\n", 1, "tun.ip_path",
         "must be a string (got integer)"},
        {"ip_set not a boolean", "tun = { ip_set = 1; };\n", 1, "tun.ip_set", "must be a boolean"},
        {"trace not a group", "trace = \"x\";\n", 1, "trace", "must be a group (got string)"},
        // Still unknown: an early enftun's route.heartbeat_* (later
        // remote.heartbeat_*, the names kept here).
        {"route heartbeat", "route = { heartbeat_timeout = 1000; };\n", 1,
         "route.heartbeat_timeout", "unknown key"},
    };
    expect_errors(fx(state), cases);
}

// ---- errors from reading and parsing ----

void test_reports_syntax_error_with_line(void** state) {
    Fixture& f = fx(state);
    expect_error(f, "tun = {\n  mtu = ;\n};\n", 2, "", "syntax error");
    expect_error(f, "tun = {\n  mtu = 1280;\n  mtu = 1400;\n};\n", 3, "", "duplicate setting name");
    expect_error(f, "remote = { hosts = [\"a\", 1]; };\n", 1, "", "mismatched element type");
}

void test_reports_missing_file(void** state) {
    Fixture& f = fx(state);
    const std::string missing = f.dir + "/nope.conf";
    expect_error_at(f, missing, missing, 0, "", "cannot read config file: No such file", "missing");
    expect_error_at(f, f.dir, f.dir, 0, "", "cannot read config file: Is a directory", "dir");
}

// A config file is a few kilobytes: read_config_file() stops past 1 MiB
// rather than read a device or a log file into memory.
void test_reports_file_over_1_mib(void** state) {
    Fixture& f = fx(state);
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    // A valid config padded with a comment to exactly 1 MiB still loads.
    f.text = std::string(kRequired) + "#";
    f.text.append(kMiB - f.text.size() - 1, 'x');
    f.text += '\n';
    assert_int_equal(f.text.size(), kMiB);
    load_text(f, f.text);
    // One byte more is refused, without a line number.
    f.text.insert(f.text.size() - 1, "x");
    write_file(f.path, f.text);
    expect_error_at(f, f.path, f.path, 0, "", "cannot read config file: larger than 1 MiB",
                    "1 MiB + 1");
}

void test_reports_nul_byte(void** state) {
    Fixture& f = fx(state);
    static constexpr char kText[] = "tun = {};\n\n#\0x\n";
    expect_error(f, std::string_view(kText, sizeof kText - 1), 3, "", "contains a NUL byte");
}

void test_reports_errors_in_included_file(void** state) {
    Fixture& f = fx(state);
    write_file(f.dir + "/inc.conf", "\nmtuu = 1;\n");
    write_file(f.path, "tun = {\n  @include \"inc.conf\"\n};\n");
    expect_error_at(f, f.path, f.dir + "/inc.conf", 2, "tun.mtuu", "unknown key", "include");
    write_file(f.path, "@include \"missing.conf\"\n");
    expect_error_at(f, f.path, f.path, 1, "", "cannot open include file", "missing include");
}

// A FIFO would block the load (libconfig waits for a writer that never
// comes), a device or a huge file would never end: a config file and every
// file it includes must be a regular file, the included ones at most 1 MiB
// together.
void test_refuses_fifo_and_huge_includes(void** state) {
    Fixture& f = fx(state);
    assert_int_equal(mkfifo((f.dir + "/fifo.conf").c_str(), 0600), 0);
    expect_error_at(f, f.dir + "/fifo.conf", f.dir + "/fifo.conf", 0, "",
                    "cannot read config file: not a regular file", "FIFO config");
    expect_error(f, std::string(kRequired) + "tun = {\n  @include \"fifo.conf\"\n};\n", 4,
                 "@include \"fifo.conf\"", "not a regular file", "included FIFO");
    // Nested: the FIFO behind a regular included file, its line there.
    write_file(f.dir + "/inc.conf", "\n @include \"fifo.conf\"\n");
    write_file(f.path, std::string(kRequired) + "@include \"inc.conf\"\n");
    expect_error_at(f, f.path, f.dir + "/inc.conf", 2, "@include \"fifo.conf\"",
                    "not a regular file", "nested FIFO");
    // Exactly 1 MiB of included text loads; one byte more does not.
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    f.text = "#";
    f.text.append(kMiB - 2, 'x');
    f.text += '\n';
    write_file(f.dir + "/big.conf", f.text);
    load_text(f, std::string(kRequired) + "@include \"big.conf\"\n");
    f.text.insert(0, "#\n");
    write_file(f.dir + "/big.conf", f.text);
    expect_error_at(f, f.path, f.path, 3, "@include \"big.conf\"",
                    "the included files are larger than 1 MiB together", "huge include");
    // The bound is on all of them together: two.conf and twice half.conf.
    f.text = "@include \"half.conf\"\n@include \"half.conf\"\n";
    write_file(f.dir + "/two.conf", f.text);
    const std::size_t half = (kMiB - f.text.size()) / 2;
    write_file(f.dir + "/half.conf", std::string(half, '\n'));
    load_text(f, std::string(kRequired) + "@include \"two.conf\"\n");
    write_file(f.dir + "/half.conf", std::string(half + 1, '\n'));
    expect_error_at(f, f.path, f.dir + "/two.conf", 2, "@include \"half.conf\"",
                    "larger than 1 MiB", "two halves and a byte");
}

void test_from_string_names_source(void** state) {
    Fixture& f = fx(state);
    f.result = load_client_config_from_string(std::string(kRequired) + "tun = { dev = 5; };", "/b");
    assert_false(f.result->has_value());
    assert_string_equal(f.result->error().message.c_str(),
                        "<string>:3: tun.dev: must be a string (got integer)");
    f.result = load_client_config_from_string(kRequired, "/base", "x.conf");
    assert_string_equal(expect_loaded(f).identity.cert_file.c_str(), "/base/c");
    f.result = load_client_config_from_string(kRequired, "");
    assert_string_equal(expect_loaded(f).identity.cert_file.c_str(), "c");
    assert_string_equal(expect_loaded(f).identity.duid_file.c_str(), "duid");
}

// ---- errors from validation ----

void test_rejects_unknown_keys(void** state) {
    static const ErrorCase cases[] = {
        {"typo", "tun = {\n  mtuu = 1400;\n};\n", 2, "tun.mtuu", "unknown key"},
        {"top-level key", "\nfoo = 1;\n", 2, "foo", "unknown key"},
        {"top-level group", "bar = { x = 1; };\n", 1, "bar", "unknown group"},
        {"nested group", "identity = {\n  tpms = {};\n};\n", 2, "identity.tpms", "unknown group"},
        {"route key", "route = { heartbeat_period = 1000; };\n", 1, "route.heartbeat_period",
         "unknown key"},
        {"enroll key", "enroll = { server = \"https://a\"; };\n", 1, "enroll.server",
         "unknown key"},
    };
    expect_errors(fx(state), cases);
}

void test_rejects_wrong_types(void** state) {
    static const ErrorCase cases[] = {
        {"string for int", "tun = { mtu = \"1400\"; };\n", 1, "tun.mtu",
         "must be an integer (got string)"},
        {"float for int", "remote = { heartbeat_period = 1.5; };\n", 1, "remote.heartbeat_period",
         "must be an integer (got float)"},
        {"int for string", "tun = { dev = 5; };\n", 1, "tun.dev", "must be a string (got integer)"},
        {"bool for path", "identity = { cert_file = true; };\n", 1, "identity.cert_file",
         "must be a string (got boolean)"},
        {"int for bool", "tun = { set_address = 1; };\n", 1, "tun.set_address",
         "must be a boolean (true or false) (got integer)"},
        {"string for bool", "route = { allow_ipv4 = \"yes\"; };\n", 1, "route.allow_ipv4",
         "must be a boolean"},
        {"string for list", "remote = { hosts = \"a\"; };\n", 1, "remote.hosts",
         "must be a list of strings (got string)"},
        {"int in list", "route = {\n  prefixes = (\"default\",\n    5);\n};\n", 3,
         "route.prefixes[1]", "must be a string (got integer)"},
        {"int array", "route = { trusted_interfaces = [1, 2]; };\n", 1,
         "route.trusted_interfaces[0]", "must be a string (got integer)"},
        {"scalar for group", "tun = 5;\n", 1, "tun", "must be a group (got integer)"},
        {"list for group", "remote = ( 1 );\n", 1, "remote", "must be a group (got list)"},
        {"bool for port", "remote = { port = true; };\n", 1, "remote.port",
         "must be a port number (an integer or a string of digits) (got boolean)"},
        {"group for int", "route = { table = { }; };\n", 1, "route.table",
         "must be an integer (got group)"},
        {"list for string", "tun = { lladdr = [\"02:00:00:00:00:01\"]; };\n", 1, "tun.lladdr",
         "must be a string (got array)"},
        {"int for offload", "tun = { offload = 0; };\n", 1, "tun.offload",
         "must be a boolean (true or false) (got integer)"},
    };
    expect_errors(fx(state), cases);
}

void test_rejects_out_of_range(void** state) {
    static const ErrorCase cases[] = {
        {"mtu low", "tun = { mtu = 100; };\n", 1, "tun.mtu",
         "must be between 1280 and 65535 (got 100)"},
        {"mtu high", "tun = { mtu = 65536; };\n", 1, "tun.mtu", "(got 65536)"},
        {"busy poll negative", "tun = { busy_poll_us = -1; };\n", 1, "tun.busy_poll_us",
         "must be between 0 and 10000 (got -1)"},
        {"busy poll high", "tun = { busy_poll_us = 10001; };\n", 1, "tun.busy_poll_us",
         "(got 10001)"},
        {"port 0", "remote = { port = 0; };\n", 1, "remote.port",
         "must be between 1 and 65535 (got 0)"},
        {"port high", "remote = { port = 65536; };\n", 1, "remote.port", "(got 65536)"},
        {"port string 0", "remote = { port = \"0\"; };\n", 1, "remote.port",
         "must be a port number between 1 and 65535 (got \"0\")"},
        {"port string high", "remote = { port = \"70000\"; };\n", 1, "remote.port", "\"70000\""},
        {"port string sign", "remote = { port = \"+443\"; };\n", 1, "remote.port", "\"+443\""},
        {"port string empty", "remote = { port = \"\"; };\n", 1, "remote.port", "(got \"\")"},
        {"heartbeat period", "remote = { heartbeat_period = 99; };\n", 1, "remote.heartbeat_period",
         "must be between 100 and 2147483647 (got 99)"},
        {"heartbeat timeout", "remote = { heartbeat_timeout = 0; };\n", 1,
         "remote.heartbeat_timeout", "(got 0)"},
        {"connect timeout", "remote = { connect_timeout = -1; };\n", 1, "remote.connect_timeout",
         "(got -1)"},
        {"reconnect delay", "remote = { reconnect_max_delay = 999; };\n", 1,
         "remote.reconnect_max_delay", "must be between 1000 and"},
        {"protocol 3", "remote = { protocol = 3; };\n", 1, "remote.protocol",
         "must be between 1 and 2 (got 3)"},
        {"stable period", "remote = { reconnect_stable_period = 999; };\n", 1,
         "remote.reconnect_stable_period", "must be between 1000 and 2147483647 (got 999)"},
        {"stable period over 32 bits", "remote = { reconnect_stable_period = 3000000000L; };\n", 1,
         "remote.reconnect_stable_period", "(got 3000000000)"},
        {"ms over 32 bits", "remote = { connect_timeout = 3000000000L; };\n", 1,
         "remote.connect_timeout", "(got 3000000000)"},
        {"ra period below 4 s", "route = { ra_period = 3999; };\n", 1, "route.ra_period",
         "must be between 4000 and 21845000 (got 3999)"},
        {"ra period above 21845 s", "route = {\n  ra_period = 21845001;\n};\n", 2,
         "route.ra_period", "must be between 4000 and 21845000 (got 21845001)"},
        {"fwmark 0", "route = { fwmark = 0; };\n", 1, "route.fwmark",
         "must be between 1 and 4294967295 (got 0)"},
        {"fwmark negative", "route = { fwmark = -5; };\n", 1, "route.fwmark", "(got -5)"},
        {"fwmark 64-bit", "route = { fwmark = 4294967296L; };\n", 1, "route.fwmark",
         "(got 4294967296)"},
        {"table 0", "route = { table = 0; };\n", 1, "route.table", "(got 0)"},
        {"table default", "route = { table = 253; };\n", 1, "route.table",
         "must not be 253, 254 or 255"},
        {"table main", "route = { table = 254; };\n", 1, "route.table", "(got 254)"},
        {"table local", "route = { table = 255; };\n", 1, "route.table", "(got 255)"},
    };
    expect_errors(fx(state), cases);
}

void test_rejects_bad_prefixes(void** state) {
    static const ErrorCase cases[] = {
        {"host bits", "route = { prefixes = [\"fd00::1/16\"]; };\n", 1, "route.prefixes[0]",
         "has address bits set beyond the prefix length (got \"fd00::1/16\")"},
        {"len 129", "route = { prefixes = [\"fd00::/129\"]; };\n", 1, "route.prefixes[0]",
         "must be \"default\" or an IPv6 prefix"},
        {"no len", "route = { prefixes = [\"default\", \"fd00::\"]; };\n", 1, "route.prefixes[1]",
         "(got \"fd00::\")"},
        {"empty len", "route = { prefixes = [\"fd00::/\"]; };\n", 1, "route.prefixes[0]",
         "IPv6 prefix"},
        {"empty addr", "route = { prefixes = [\"/64\"]; };\n", 1, "route.prefixes[0]",
         "IPv6 prefix"},
        {"signed len", "route = { prefixes = [\"fd00::/+8\"]; };\n", 1, "route.prefixes[0]",
         "IPv6 prefix"},
        {"keyword case", "route = { prefixes = [\"Default\"]; };\n", 1, "route.prefixes[0]",
         "IPv6 prefix"},
    };
    expect_errors(fx(state), cases);
}

// route.prefixes takes IPv4 prefixes with route.allow_ipv4: parsed apart
// from the IPv6 ones, printed after them in canonical form.
void test_ipv4_route_prefixes(void** state) {
    Fixture& f = fx(state);
    const ClientConfig& c = load_text(
        f, std::string(kRequired) +
               "route = {\n  prefixes = [\"198.18.0.0/16\", \"default\", \"10.1.2.3/32\",\n"
               "    \"fd00::/016\", \"10.0.0.0/08\", \"0.0.0.0/0\"];\n  allow_ipv4 = true;\n};\n");
    assert_int_equal(c.route.prefixes.size(), 2);
    assert_true(c.route.prefixes[0].is_default);
    // Lengths print without leading zeros (`ip` reads "016" as octal).
    assert_string_equal(c.route.prefixes[1].text.c_str(), "fd00::/16");
    assert_int_equal(c.route.prefixes[1].len, 16);
    assert_int_equal(c.route.ipv4_prefixes.size(), 4);
    assert_true(c.route.ipv4_prefixes[0].addr == (enftun::proto::Ipv4Addr{198, 18, 0, 0}));
    assert_int_equal(c.route.ipv4_prefixes[0].len, 16);
    assert_true(c.route.ipv4_prefixes[1].addr == (enftun::proto::Ipv4Addr{10, 1, 2, 3}));
    assert_int_equal(c.route.ipv4_prefixes[1].len, 32);
    assert_int_equal(c.route.ipv4_prefixes[2].len, 8);
    assert_int_equal(c.route.ipv4_prefixes[3].len, 0);
    assert_string_equal(print(f, "route.prefixes").c_str(),
                        "default fd00::/16 198.18.0.0/16 10.1.2.3/32 10.0.0.0/8 0.0.0.0/0");
    // Only IPv4 (a split tunnel for IPv4 alone): no "default" left.
    const ClientConfig& only =
        load_text(f, std::string(kRequired) +
                         "route = { allow_ipv4 = true; prefixes = [\"198.18.0.0/15\"]; };\n");
    assert_true(only.route.prefixes.empty());
    assert_int_equal(only.route.ipv4_prefixes.size(), 1);
    assert_string_equal(print(f, "route.prefixes").c_str(), "198.18.0.0/15");
}

void test_ipv4_route_prefix_errors(void** state) {
    static const std::string req = kRequired;
    static const std::string before = req + "route = {\n  allow_ipv4 = false;\n  prefixes = "
                                            "[\"fd00::/16\", \"198.18.0.0/16\"];\n};\n";
    static const std::string after =
        req + "route = {\n  prefixes = [\"198.18.0.0/16\"];\n  allow_ipv4 = false;\n};\n";
    static const std::string absent = req + "route = {\n  prefixes = [\"198.18.0.0/16\"];\n};\n";
    const int first = 1 + static_cast<int>(std::count(req.begin(), req.end(), '\n'));
    Fixture& f = fx(state);
    // Without allow_ipv4, at route.prefixes' line whatever the keys' order.
    expect_error(f, before, first + 2, "route.prefixes",
                 "the IPv4 prefix 198.18.0.0/16 needs route.allow_ipv4 = true", "before");
    expect_error(f, after, first + 1, "route.prefixes", "needs route.allow_ipv4 = true", "after");
    expect_error(f, absent, first + 1, "route.prefixes", "needs route.allow_ipv4 = true", "absent");
    static const ErrorCase cases[] = {
        {"v4 len 33", "route = { allow_ipv4 = true; prefixes = [\"198.18.0.0/33\"]; };\n", 1,
         "route.prefixes[0]",
         "must be an IPv4 prefix such as 198.18.0.0/16 (got \"198.18.0.0/33\")"},
        {"v4 len 3 digits", "route = { allow_ipv4 = true; prefixes = [\"10.0.0.0/008\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"v4 signed len", "route = { allow_ipv4 = true; prefixes = [\"10.0.0.0/+8\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"v4 host bits",
         "route = { allow_ipv4 = true; prefixes = [\"default\", \"198.18.0.1/16\"]; };\n", 1,
         "route.prefixes[1]",
         "has address bits set beyond the prefix length (got \"198.18.0.1/16\")"},
        {"v4 host bits /31", "route = { allow_ipv4 = true; prefixes = [\"10.1.2.3/31\"]; };\n", 1,
         "route.prefixes[0]", "has address bits set"},
        {"v4 no len", "route = { allow_ipv4 = true; prefixes = [\"198.18.0.0\"]; };\n", 1,
         "route.prefixes[0]", "(got \"198.18.0.0\")"},
        {"v4 three octets", "route = { allow_ipv4 = true; prefixes = [\"198.18.0/24\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"v4 octet 256", "route = { allow_ipv4 = true; prefixes = [\"198.256.0.0/16\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"v4 leading zero", "route = { allow_ipv4 = true; prefixes = [\"198.018.0.0/16\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"v4 space", "route = { allow_ipv4 = true; prefixes = [\" 198.18.0.0/16\"]; };\n", 1,
         "route.prefixes[0]", "IPv4 prefix"},
        {"garbage", "route = { allow_ipv4 = true; prefixes = [\"tunnel\"]; };\n", 1,
         "route.prefixes[0]",
         "must be \"default\", an IPv6 prefix such as fd00::/16 or an IPv4 prefix such as "
         "198.18.0.0/16 (got \"tunnel\")"},
    };
    expect_errors(f, cases);
}

void test_rejects_bad_ifnames(void** state) {
    static const ErrorCase cases[] = {
        {"too long", "tun = { dev = \"abcdefghijklmnop\"; };\n", 1, "tun.dev",
         "must be an interface name of 1 to 15 characters"},
        {"slash", "tun = { dev = \"a/b\"; };\n", 1, "tun.dev", "(got \"a/b\")"},
        {"colon", "tun = { dev = \"eth0:1\"; };\n", 1, "tun.dev", "(got \"eth0:1\")"},
        {"space", "tun = { dev = \"en f0\"; };\n", 1, "tun.dev", "(got \"en f0\")"},
        {"empty", "tun = { dev = \"\"; };\n", 1, "tun.dev", "(got \"\")"},
        {"dot", "tun = { dev = \".\"; };\n", 1, "tun.dev", "(got \".\")"},
        {"dotdot", "tun = { dev = \"..\"; };\n", 1, "tun.dev", "(got \"..\")"},
        {"trusted", "route = {\n  trusted_interfaces = [\"eth0\", \"bad/if\"];\n};\n", 2,
         "route.trusted_interfaces[1]", "(got \"bad/if\")"},
    };
    expect_errors(fx(state), cases);
}

void test_rejects_bad_lladdr_and_hosts(void** state) {
    static const ErrorCase cases[] = {
        {"short mac", "tun = { lladdr = \"02:00:00:00:00\"; };\n", 1, "tun.lladdr",
         "must be a MAC address"},
        {"dash mac", "tun = { lladdr = \"02-00-00-00-00-01\"; };\n", 1, "tun.lladdr",
         "must be a MAC address"},
        {"non-hex mac", "tun = { lladdr = \"02:00:00:00:00:0g\"; };\n", 1, "tun.lladdr",
         "must be a MAC address"},
        {"multicast mac", "tun = { lladdr = \"01:00:5e:00:00:01\"; };\n", 1, "tun.lladdr",
         "must be a unicast, non-zero MAC address"},
        {"zero mac", "tun = { lladdr = \"00:00:00:00:00:00\"; };\n", 1, "tun.lladdr", "non-zero"},
        {"enroll url http", "enroll = { url = \"http://[fd00::1]:8443\"; };\n", 1, "enroll.url",
         "must be an https:// URL"},
        {"enroll url space", "enroll = { url = \"https://a b\"; };\n", 1, "enroll.url",
         "must not contain whitespace"},
        {"empty host", "remote = { hosts = [\"a\", \"\"]; };\n", 1, "remote.hosts[1]",
         "must be an IP address or a host name of letters, digits, '-' and '.' (RFC 1123) "
         "(got \"\")"},
        {"space host", "remote = { hosts = [\"a b\"]; };\n", 1, "remote.hosts[0]", "\"a b\""},
        {"tab host", "remote = { hosts = [\"a\\tb\"]; };\n", 1, "remote.hosts[0]",
         "(got \"a\\x09b\")"},
        {"bad server_name", "remote = { server_name = \"r;x\"; };\n", 1, "remote.server_name",
         "RFC 1123"},
        {"short pin", "remote = { pin_sha256 = [\"abcd\"]; };\n", 1, "remote.pin_sha256[0]",
         "must be a SHA-256 digest in 64 hex digits"},
        {"base64 pin",
         "remote = { pin_sha256 = [\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"]; };\n", 1,
         "remote.pin_sha256[0]", "64 hex digits"},
        {"pin not a list", "remote = { pin_sha256 = \"aa\"; };\n", 1, "remote.pin_sha256",
         "must be"},
        {"ipv4 not v4", "tun = { ipv4_address = \"fd00::1\"; };\n", 1, "tun.ipv4_address",
         "must be an IPv4 address"},
        {"ipv4 zero", "tun = { ipv4_address = \"0.0.0.0\"; };\n", 1, "tun.ipv4_address",
         "must be an IPv4 address"},
        {"long control socket",
         "tun = { control_socket = \"/run/enftun/"
         "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
         "ssssssss.sock\"; };\n",
         1, "tun.control_socket", "must be a path of at most 107 bytes"},
        {"empty path", "remote = { ca_cert_file = \"\"; };\n", 1, "remote.ca_cert_file",
         "must not be empty"},
    };
    expect_errors(fx(state), cases);
}

// remote.hosts reaches resolvers, logs and enftun-setup's nftables rules:
// every attempt to smuggle syntax in must be refused by the loader, with
// the value quoted so that it cannot forge a log line either.
void test_rejects_host_injection(void** state) {
    static const char* const hostile[] = {
        "fd00::1}accept;accept#",
        "fd00::1 } accept",
        "a;b",
        "a}b",
        "a{b",
        "a\\\"b",
        "a'b",
        "a`id`",
        "$(id)",
        "a#b",
        "a b",
        "a,b",
        "a/b",
        "a@b",
        "a_b",
        "fd00::1%eth0",
        "[fd00::1]",
        "fd00::1/64",
        "-a.example",
        "a-.example",
        "a..b",
        "a.",
        ".a",
        "10.1",
        "0x7f.1",
        "1.2.3.256",
        "ex\\nample",
        "ex\\rample",
        "ex\xc3\xa9mple",
    };
    Fixture& f = fx(state);
    for (const char* h : hostile) {
        f.text = std::string("remote = {\n  hosts = [ \"ok.example\", \"") + h + "\" ];\n};\n";
        const std::string text = f.text;
        expect_error(f, text, 2, "remote.hosts[1]", "RFC 1123", h);
        // One line, whatever the value held.
        assert_true(f.result->error().message.find('\n') == std::string::npos);
    }
    // A newline inside the value is shown escaped.
    expect_error(f, "remote = { hosts = [ \"a\\nb\" ]; };\n", 1, "remote.hosts[0]",
                 "(got \"a\\x0ab\")");
    // Length limits: a 63-character label and a 253-character name pass,
    // one more character does not.
    const std::string label63(63, 'a');
    const std::string name253 =
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    assert_true(parse_host(label63 + ".example").has_value());
    assert_false(parse_host(label63 + "a.example").has_value());
    assert_true(parse_host(name253).has_value());
    assert_false(parse_host(name253 + "b").has_value());
    for (const char* good : {"fd00:100::1", "198.18.0.1", "router.test", "r-1.Example.NET",
                             "localhost", "1e100.net", "xn--bcher-kva.example"}) {
        if (!parse_host(good)) {
            fail_msg("refused a valid host: %s", good);
        }
    }
}

void test_rejects_missing_required_keys(void** state) {
    static const ErrorCase cases[] = {
        // A missing key is placed at its group, or at the end of the file if
        // the group is missing too.
        {"hosts",
         "remote = {\n  ca_cert_file = \"ca\";\n};\nidentity = { cert_file = \"c\"; "
         "key_file = \"k\"; };\n",
         1, "remote.hosts", "required key is missing"},
        {"no remote group", "identity = { cert_file = \"c\"; key_file = \"k\"; };\n\n#\n", 3,
         "remote.hosts", "required key is missing"},
        {"ca_cert_file",
         "remote = { hosts = [\"h\"]; };\n"
         "identity = { cert_file = \"c\"; key_file = \"k\"; };\n",
         1, "remote.ca_cert_file", "required key is missing"},
        {"cert_file",
         "remote = { hosts = [\"h\"]; ca_cert_file = \"ca\"; };\n"
         "identity = {\n  key_file = \"k\";\n};\n",
         2, "identity.cert_file", "required key is missing"},
        {"key_file",
         "remote = { hosts = [\"h\"]; ca_cert_file = \"ca\"; };\n"
         "identity = { cert_file = \"c\"; };\n",
         2, "identity.key_file", "required key is missing"},
        {"empty file", "", 1, "remote.hosts", "required key is missing"},
        {"empty hosts", "remote = {\n  hosts = [];\n  ca_cert_file = \"ca\";\n};\n", 2,
         "remote.hosts", "must list at least one host"},
        // A rejected value is reported before a missing key read earlier.
        {"value first", "route = { table = 254; };\n", 1, "route.table", "(got 254)"},
    };
    expect_errors(fx(state), cases);
}

// ---- printer ----

void test_prints_every_key(void** state) {
    Fixture& f = fx(state);
    load_file(f, data_path("config/client-full.conf"));
    static const std::pair<const char*, const char*> expected[] = {
        {"tun.dev", "enf7"},
        {"tun.dev_node", "/dev/net/tun2"},
        {"tun.set_address", "false"},
        {"tun.mtu", "1400"},
        {"tun.lladdr", "02:00:5e:10:00:01"},
        {"tun.busy_poll_us", "250"},
        {"tun.offload", "false"},
        {"tun.ipv4_address", "198.18.0.2"},
        {"tun.control_socket", "/run/enftun-test/x7.sock"},
        {"tun.backoff_file", "/run/enftun-test/x7.backoff-record"},
        {"tun.metrics_file", "/var/lib/prometheus/node-exporter/enf7.prom"},
        {"remote.hosts", "fd00:100::1 192.0.2.7 enf.example.net"},
        {"remote.port", "4443"},
        {"remote.ca_cert_file", "/etc/enftun/ca.pem"},
        {"remote.server_name", "router.example.net"},
        {"remote.pin_sha256", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"remote.heartbeat_period", "30000"},
        {"remote.heartbeat_timeout", "5000"},
        {"remote.connect_timeout", "2000"},
        {"remote.reconnect_max_delay", "120000"},
        {"remote.reconnect_stable_period", "45000"},
        {"remote.protocol", "1"},
        {"route.fwmark", "363"},
        {"route.table", "4000"},
        {"route.prefixes", "fd00::/16 2001:db8:1::/48"},
        {"route.trusted_interfaces", "eth1 wlan0"},
        {"route.allow_ipv4", "true"},
        {"route.ra_period", "300000"},
        {"identity.cert_file", "/etc/enftun/enf0.crt.pem"},
        {"identity.key_file", "/etc/enftun/enf0.key.pem"},
        {"identity.ip_file", "/etc/enftun/enf0.ip"},
        {"identity.duid_file", "/var/lib/enftun/duid"},
        {"identity.tpm.enable", "1"},
        {"identity.tpm.tcti", "swtpm"},
        {"identity.tpm.device", "/dev/tpm0"},
        {"identity.tpm.socket_host", "127.0.0.1"},
        {"identity.tpm.socket_port", "2421"},
        {"identity.tpm.hierarchy", "1073741825"},
        {"identity.tpm.password", "(redacted)"}, // a secret: shown only when asked
        {"identity.tpm.parent", "2164260865"},
        {"enroll.url", "https://[fd00:100::1]:9443"},
        {"log.level", "debug"},
    };
    assert_int_equal(client_key_names().size(), std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        assert_string_equal(std::string(client_key_names()[i]).c_str(), expected[i].first);
        assert_string_equal(print(f, expected[i].first).c_str(), expected[i].second);
    }
    auto shown = print_client_key(**f.result, "identity.tpm.password", Secrets::Show);
    assert_true(shown.has_value());
    assert_string_equal(shown->c_str(), "s3cret");
    auto all = print_all_client_keys(**f.result);
    assert_true(all.has_value());
    assert_null(std::strstr(all->c_str(), "s3cret"));
    assert_non_null(std::strstr(all->c_str(), "\nidentity.tpm.password=(redacted)\n"));
    all = print_all_client_keys(**f.result, Secrets::Show);
    assert_true(all.has_value());
    assert_non_null(std::strstr(all->c_str(), "\nidentity.tpm.password=s3cret\n"));
}

void test_prints_defaults(void** state) {
    Fixture& f = fx(state);
    load_text(f, kRequired);
    static const std::pair<const char*, const char*> expected[] = {
        {"tun.dev", "enf0"},
        {"tun.dev_node", "/dev/net/tun"},
        {"tun.set_address", "true"},
        {"tun.mtu", "1280"},
        {"tun.lladdr", ""},
        {"tun.busy_poll_us", "0"},
        {"tun.offload", "true"},
        {"tun.ipv4_address", ""},
        {"tun.control_socket", "/run/enftun/enf0.sock"},
        {"tun.backoff_file", "/run/enftun/enf0.backoff"},
        {"tun.metrics_file", ""},
        {"remote.hosts", "fd00:100::1"},
        {"remote.port", "443"},
        {"remote.server_name", ""},
        {"remote.pin_sha256", ""},
        {"remote.heartbeat_period", "60000"},
        {"route.fwmark", "363"},
        {"route.table", "2097"},
        {"route.prefixes", "default"},
        {"route.trusted_interfaces", ""},
        {"route.allow_ipv4", "false"},
        {"route.ra_period", "600000"},
        {"identity.ip_file", ""},
        {"identity.tpm.enable", "0"},
        {"identity.tpm.tcti", "device"},
        {"identity.tpm.device", "/dev/tpmrm0"},
        {"identity.tpm.socket_host", "localhost"},
        {"identity.tpm.socket_port", "2321"},
        {"identity.tpm.hierarchy", "0"},
        {"identity.tpm.password", ""},
        {"identity.tpm.parent", "0"},
        {"enroll.url", ""},
        {"log.level", "info"},
    };
    for (const auto& [key, value] : expected) {
        assert_string_equal(print(f, key).c_str(), value);
    }
    f.text = f.dir + "/duid";
    assert_string_equal(print(f, "identity.duid_file").c_str(), f.text.c_str());
    f.text = f.dir + "/ca";
    assert_string_equal(print(f, "remote.ca_cert_file").c_str(), f.text.c_str());
}

void test_print_unknown_key(void** state) {
    Fixture& f = fx(state);
    load_text(f, kRequired);
    static const char* const unknown[] = {"tun.foo", "tun", "", "version", "TUN.DEV"};
    for (const char* key : unknown) {
        auto r = print_client_key(**f.result, key);
        assert_false(r.has_value());
        f.text = std::string("unknown key: ") + key;
        assert_string_equal(r.error().message.c_str(), f.text.c_str());
    }
}

// ---- value parsers ----

void test_value_parsers(void** state) {
    (void)state;
    assert_true(parse_prefix("::/0", false).has_value());
    assert_true(parse_prefix("fd00::/128", false).has_value());
    assert_true(parse_prefix("fd00::1/128", false).has_value());
    assert_true(parse_prefix("fd00:8000::/17", false).has_value());
    assert_false(parse_prefix("fd00:c000::/17", false).has_value());
    assert_false(parse_prefix("default", false).has_value());
    assert_true(parse_prefix("default", true)->is_default);
    assert_false(parse_prefix(std::string_view("fd00::/8\0", 9), false).has_value());
    assert_true(parse_ifname("enf%d").has_value());
    assert_true(parse_ifname("abcdefghijklmno").has_value());
    assert_int_equal(*parse_port("65535"), 65535);
    assert_false(parse_port("123456").has_value());
    assert_true(parse_ip_literal("192.0.2.1").has_value());
    assert_true(parse_ip_literal("::").has_value());
    assert_false(parse_ip_literal("localhost").has_value());
    assert_false(parse_ip_literal("[::1]").has_value());
    assert_false(parse_unicast_ipv6("::").has_value());
    assert_false(parse_unicast_ipv6("ff02::1").has_value());
    assert_true(parse_unicast_ipv6("fe80::1").has_value());
    assert_string_equal(format_mac(*parse_mac("0A:0b:0C:0d:0E:0f")).c_str(), "0a:0b:0c:0d:0e:0f");
    assert_string_equal(parse_sha256_pin(std::string(64, 'F'))->c_str(),
                        std::string(64, 'f').c_str());
    assert_false(parse_sha256_pin(std::string(63, 'a') + "g").has_value());
    assert_false(parse_sha256_pin(std::string(65, 'a')).has_value());
    assert_true(parse_ipv4("198.18.0.2").has_value());
    assert_false(parse_ipv4("198.18.0").has_value());
    assert_string_equal(resolve_path("/etc/enftun", "a/../b")->c_str(), "/etc/enftun/a/../b");
    assert_string_equal(resolve_path("/etc/enftun/", "x")->c_str(), "/etc/enftun/x");
    assert_string_equal(resolve_path("/etc/enftun", "/x")->c_str(), "/x");
}

// ---- documentation ----

// The text with every commented-out setting ("  # key = value;") enabled,
// so the documented syntax of optional keys is checked too.
std::string uncomment_settings(const std::string& text) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        end = end == std::string::npos ? text.size() : end + 1;
        std::string line = text.substr(pos, end - pos);
        const std::size_t hash = line.find_first_not_of(' ');
        if (hash != std::string::npos && line[hash] == '#') {
            const std::size_t key = line.find_first_not_of(' ', hash + 1);
            const std::size_t eq = line.find(" = ", hash);
            const bool is_setting =
                key != std::string::npos && eq != std::string::npos &&
                line.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", key) == eq &&
                line.find_last_not_of(" \n") == line.rfind(';');
            if (is_setting) {
                line = line.substr(0, hash) + line.substr(key);
            }
        }
        out += line;
        pos = end;
    }
    return out;
}

void test_loads_example_conf(void** state) {
    Fixture& f = fx(state);
    const std::string path = data_path("../../conf/example.conf");
    const ClientConfig& c = load_file(f, path);
    assert_string_equal(c.tun.dev.c_str(), "enf0");
    assert_int_equal(c.remote.hosts.size(), 1);
    assert_string_equal(c.remote.hosts[0].c_str(), "fd00:100::1");
    assert_int_equal(c.remote.port, 4443);
    assert_string_equal(c.identity.cert_file.c_str(), "/etc/enftun/enf0.crt.pem");
    assert_false(c.tun.lladdr.has_value());
    assert_false(c.identity.ip_file.has_value());
    assert_true(c.warnings.empty());
    // Apart from these, the example shows the defaults.
    static constexpr std::string_view kNotDefault[] = {"remote.hosts",        "remote.port",
                                                       "remote.ca_cert_file", "identity.cert_file",
                                                       "identity.key_file",   "identity.duid_file"};
    for (std::string_view key : client_key_names()) {
        if (std::find(std::begin(kNotDefault), std::end(kNotDefault), key) !=
            std::end(kNotDefault)) {
            continue;
        }
        f.text = print(f, key);
        if (f.text != print_client_key(ClientConfig{}, key).value()) {
            print_error("%.*s: the example does not show the default\n",
                        static_cast<int>(key.size()), key.data());
            fail();
        }
    }
    assert_string_equal(c.identity.duid_file.c_str(), "/etc/enftun/duid");

    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    f.result = load_client_config_from_string(uncomment_settings(text), "/etc/enftun");
    const ClientConfig& all = expect_loaded(f);
    assert_true(all.tun.lladdr.has_value());
    assert_true(all.identity.ip_file.has_value());
    assert_string_equal(all.identity.duid_file.c_str(), "/etc/enftun/duid");
    // The original enftun's keys it documents: ip_set agrees with set_address;
    // ip_path and the empty xtt group are warnings; its tpm group loads.
    assert_true(all.tun.set_address);
    assert_true(all.identity.tpm.has_value());
    assert_int_equal(all.warnings.size(), 2);
    assert_true(all.warnings[0].find(": tun.ip_path: ignored: ") != std::string::npos);
    assert_true(all.warnings[1].find(": identity.xtt: ignored: ") != std::string::npos);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loads_full_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimal_config_takes_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolves_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_config_path_gives_absolute_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_port_as_string_or_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_hex_and_64_bit_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_socket_default_follows_dev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_file_default_follows_control_socket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accepts_lists_and_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_original_version_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_original_enftun_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_set_is_set_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_tpm_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tpm_password_in_a_world_readable_file_warns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rejects_original_enftun_keys_it_cannot_honour, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_syntax_error_with_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_file_over_1_mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_nul_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_errors_in_included_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_fifo_and_huge_includes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_string_names_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_route_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_route_prefix_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_ifnames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_lladdr_and_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_host_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_missing_required_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prints_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prints_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_unknown_key, setup, teardown),
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test_setup_teardown(test_loads_example_conf, setup, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, nullptr, nullptr);
}
