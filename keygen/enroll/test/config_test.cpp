// enftun-enroll's config: defaults, relative paths, and errors in the
// "FILE:LINE: KEY: reason" form; conf/enroll.conf (the documented example)
// loads.
#include "enroll/enroll_config.hpp"

#include "test.hpp"

#include <string>

using namespace enftun::enroll;

namespace {

const char* kMinimal = "enroll = {\n"
                       "  cert_file = \"svc.pem\";\n"
                       "  key_file = \"svc.key\";\n"
                       "  ca_cert_file = \"/etc/enftun/ca.pem\";\n"
                       "  ca_key_file = \"ca.key\";\n"
                       "  crl_file = \"crl.pem\";\n"
                       "  pool = [ \"fd00:e::/64\" ];\n"
                       "};\n";

void test_defaults_and_paths(void**) {
    auto c = load_enroll_config_from_string(kMinimal, "/srv/enroll", "t.conf");
    assert_true(c.has_value());
    assert_int_equal(c->listen.size(), 1);
    assert_string_equal(c->listen[0].c_str(), "::");
    assert_int_equal(c->port, 8443);
    assert_string_equal(c->cert_file.c_str(), "/srv/enroll/svc.pem");
    assert_string_equal(c->ca_cert_file.c_str(), "/etc/enftun/ca.pem");
    assert_string_equal(c->users_file.c_str(), "/srv/enroll/users");
    assert_string_equal(c->state_file.c_str(), "/srv/enroll/enrolled");
    assert_int_equal(c->cert_days, 365);
    assert_int_equal(c->pool.size(), 1);
    assert_int_equal(c->pool[0].len, 64);
    assert_int_equal(c->reserved.size(), 0);
    assert_int_equal(c->max_waiting_connections, 256);
    assert_int_equal(c->max_active_per_user, 1000);
    assert_int_equal(c->max_enrolments_per_hour, 120);
}

void expect_error(const std::string& text, const char* message) {
    auto c = load_enroll_config_from_string(text, "/srv", "t.conf");
    assert_false(c.has_value());
    if (c.error().message != message) {
        print_error("got '%s', want '%s'\n", c.error().message.c_str(), message);
        fail();
    }
}

std::string with(const char* extra) {
    std::string text = kMinimal;
    text.insert(text.size() - 3, extra);
    return text;
}

void test_errors_name_file_line_key(void**) {
    expect_error(with("  port = 0;\n"),
                 "t.conf:8: enroll.port: must be between 1 and 65535 (got 0)");
    expect_error(with("  cert_days = 4000;\n"),
                 "t.conf:8: enroll.cert_days: must be between 1 and 3650 (got 4000)");
    expect_error(with("  max_waiting_connections = 4097;\n"),
                 "t.conf:8: enroll.max_waiting_connections: must be between 0 and 4096 (got 4097)");
    expect_error(with("  max_waiting_connections = -1;\n"),
                 "t.conf:8: enroll.max_waiting_connections: must be between 0 and 4096 (got -1)");
    auto zero = load_enroll_config_from_string(with("  max_waiting_connections = 0;\n"), "/srv");
    assert_true(zero.has_value());
    assert_int_equal(zero->max_waiting_connections, 0);
    expect_error(with("  max_active_per_user = 1000001;\n"),
                 "t.conf:8: enroll.max_active_per_user: must be between 0 and 1000000 (got "
                 "1000001)");
    expect_error(with("  max_active_per_user = -1;\n"),
                 "t.conf:8: enroll.max_active_per_user: must be between 0 and 1000000 (got -1)");
    expect_error(with("  max_active_per_user = \"5\";\n"),
                 "t.conf:8: enroll.max_active_per_user: must be an integer (got string)");
    auto unlimited = load_enroll_config_from_string(with("  max_active_per_user = 0;\n"), "/srv");
    assert_true(unlimited.has_value());
    assert_int_equal(unlimited->max_active_per_user, 0);
    expect_error(with("  max_enrolments_per_hour = 100001;\n"),
                 "t.conf:8: enroll.max_enrolments_per_hour: must be between 0 and 100000 (got "
                 "100001)");
    auto no_rate = load_enroll_config_from_string(with("  max_enrolments_per_hour = 0;\n"), "/srv");
    assert_true(no_rate.has_value());
    assert_int_equal(no_rate->max_enrolments_per_hour, 0);
    expect_error(with("  pool2 = 1;\n"), "t.conf:8: enroll.pool2: unknown key");
    expect_error("enroll = { cert_file = \"a\"; key_file = \"b\"; ca_cert_file = \"c\";\n"
                 "ca_key_file = \"d\"; crl_file = \"e\"; pool = [ ];\n};\n",
                 "t.conf:2: enroll.pool: must list at least one prefix");
    expect_error("enroll = { cert_file = \"a\"; key_file = \"b\"; ca_cert_file = \"c\";\n"
                 "ca_key_file = \"d\"; crl_file = \"e\"; pool = [ \"fd00::1/64\" ];\n};\n",
                 "t.conf:2: enroll.pool[0]: has address bits set beyond the prefix length "
                 "(got \"fd00::1/64\")");
    expect_error("enroll = { cert_file = \"a\"; };\n",
                 "t.conf:1: enroll.key_file: required key is missing");
    expect_error("", "t.conf:1: enroll: required group is missing");
    expect_error(with("  ipv4_pool = \"198.18.0.1/24\";\n"),
                 "t.conf:8: enroll.ipv4_pool: 198.18.0.1/24: bits set after the /24");
    expect_error(with("  ipv4_pool = [ \"198.18.0.0/24\" ];\n"),
                 "t.conf:8: enroll.ipv4_pool: must be a string (got array)");
}

void test_ipv4_pool(void**) {
    auto none = load_enroll_config_from_string(kMinimal, "/srv", "t.conf");
    assert_false(none->ipv4_pool.has_value());
    auto c = load_enroll_config_from_string(with("  ipv4_pool = \"198.18.0.0/24\";\n"), "/srv",
                                            "t.conf");
    assert_true(c.has_value());
    assert_string_equal(c->ipv4_pool->to_string().c_str(), "198.18.0.0/24");
    // `reserved` takes the router's IPv4 address too.
    auto r = load_enroll_config_from_string(
        with("  reserved = [ \"fd00:e::1\", \"198.18.0.1\" ];\n"), "/srv", "t.conf");
    assert_true(r.has_value());
    assert_int_equal(r->reserved.size(), 1);
    assert_string_equal(r->reserved[0].to_string().c_str(), "fd00:e::1");
    assert_int_equal(r->reserved_ipv4.size(), 1);
    assert_true(r->reserved_ipv4[0] == (enftun::proto::Ipv4Addr{198, 18, 0, 1}));
    expect_error(with("  reserved = [ \"127.0.0.1\" ];\n"),
                 "t.conf:8: enroll.reserved[0]: must be a unicast IPv6 address such as fd00::1 "
                 "or a routable IPv4 address such as 198.18.0.1 (got \"127.0.0.1\")");
}

void test_example_config_loads(void**) {
    auto c = load_enroll_config(ENFTUN_SOURCE_DIR "/conf/enroll.conf");
    if (!c) {
        print_error("%s\n", c.error().message.c_str());
        fail();
    }
    assert_int_equal(c->port, 8443);
    assert_int_equal(c->reserved.size(), 1);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_paths),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_ipv4_pool),
        cmocka_unit_test(test_example_config_loads),
    };
    return cmocka_run_group_tests_name("enroll_config", tests, nullptr, nullptr);
}
