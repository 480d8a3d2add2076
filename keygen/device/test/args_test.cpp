// enftun-keygen's command line: modes, what goes together, and that a bad
// request is refused while parsing (before any file or network access).
#include "args.hpp"

#include "test.hpp"

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

using enftun::keygen::Options;
using enftun::keygen::parse_args;

namespace {

// getopt permutes argv: give it writable copies.
struct Argv {
    std::vector<std::string> words;
    std::vector<char*> ptrs;
    explicit Argv(std::initializer_list<const char*> args) {
        words.emplace_back("enftun-keygen");
        for (const char* a : args) {
            words.emplace_back(a);
        }
        for (auto& w : words) {
            ptrs.push_back(w.data());
        }
        ptrs.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words.size()); }
};

Argv* g_argv = nullptr; // freed by the next call, so a failed assert leaks one at most

enftun::keygen::Outcome<Options> parse(std::initializer_list<const char*> args) {
    delete g_argv;
    g_argv = new Argv(args);
    return parse_args(g_argv->argc(), g_argv->ptrs.data());
}

void expect_usage_error(std::initializer_list<const char*> args, const char* fragment) {
    auto r = parse(args);
    if (r) {
        fail_msg("accepted, expected \"%s\"", fragment);
    }
    if (std::strstr(r.error().message.c_str(), fragment) == nullptr) {
        fail_msg("\"%s\" lacks \"%s\"", r.error().message.c_str(), fragment);
    }
}

void test_default_server_url(void**) {
    using enftun::keygen::default_server_url;
    assert_string_equal(default_server_url("fd00:e::1").c_str(), "https://[fd00:e::1]:8443");
    assert_string_equal(default_server_url("192.0.2.1").c_str(), "https://192.0.2.1:8443");
    assert_string_equal(default_server_url("router.example").c_str(),
                        "https://router.example:8443");
}

void test_enroll_mode(void**) {
    auto r = parse({"-c", "x.conf", "--server", "https://[fd00::1]:9", "--user", "ops",
                    "--password-file", "pw", "--owner", "nobody", "--yes", "fd00:e:0:1::/64"});
    assert_true(r.has_value());
    assert_true(r->mode == Options::Mode::Enroll);
    assert_string_equal(r->config.c_str(), "x.conf");
    assert_string_equal(r->server.c_str(), "https://[fd00::1]:9");
    assert_string_equal(r->user.c_str(), "ops");
    assert_string_equal(r->password_file.c_str(), "pw");
    assert_string_equal(r->owner.c_str(), "nobody");
    assert_true(r->yes);
    assert_string_equal(r->request.to_string().c_str(), "fd00:e:0:1::/64");

    auto d = parse({"auto"});
    assert_true(d.has_value());
    assert_string_equal(d->config.c_str(), "/etc/enftun/enf0.conf");
    assert_false(d->yes);
}

void test_other_modes(void**) {
    auto renew = parse({"--renew", "--yes"});
    assert_true(renew.has_value());
    assert_true(renew->mode == Options::Mode::Renew);

    auto off = parse({"--ca-cert", "ca.pem", "--ca-key", "ca.key", "--days", "30", "fd00::5"});
    assert_true(off.has_value());
    assert_true(off->mode == Options::Mode::OfflineSign);
    assert_int_equal(off->days, 30);

    auto csr = parse({"--csr-out", "r.csr", "fd00::5"});
    assert_true(csr.has_value());
    assert_true(csr->mode == Options::Mode::CsrOut);
    assert_string_equal(csr->csr_out.c_str(), "r.csr");
}

void test_usage_errors(void**) {
    expect_usage_error({}, "missing ADDRESS, PREFIX/64 or auto");
    expect_usage_error({"auto", "fd00::5"}, "unexpected argument: fd00::5");
    expect_usage_error({"--bogus", "auto"}, "unknown option: --bogus");
    expect_usage_error({"auto", "--user"}, "option needs a value: --user");
    // The request, by the service's own parser, before anything is sent.
    expect_usage_error({"fd00::/65"}, "fd00::/65: only a /64 can be requested");
    expect_usage_error({"fd00::/6x"}, "fd00::/6x: the prefix length must be a number");
    expect_usage_error({"fd00::zz"}, "fd00::zz is not an IPv6 address, a /64 or \"auto\"");
    expect_usage_error({"fd00:e:0:1::5/64"}, "fd00:e:0:1::5/64: bits set after the /64");
    expect_usage_error({"ff02::1"}, "ff02::1 is not a global or unique-local unicast address");
    expect_usage_error({"AUTO"}, "AUTO is not an IPv6 address");
    expect_usage_error({"--renew", "fd00::5"}, "--renew takes no address");
    expect_usage_error({"--renew", "--user", "ops"}, "no --user or --password-file");
    expect_usage_error({"--ca-cert", "ca.pem", "fd00::5"}, "--ca-cert and --ca-key go together");
    expect_usage_error({"--days", "3", "fd00::5"}, "--days needs --ca-cert and --ca-key");
    expect_usage_error({"--ca-cert", "a", "--ca-key", "b", "--days", "0", "fd00::5"},
                       "--days must be a number of days from 1 to 36500");
    expect_usage_error({"--ca-cert", "a", "--ca-key", "b", "auto"}, "needs an exact address");
    expect_usage_error({"--csr-out", "r", "fd00::/64"}, "needs an exact address");
    expect_usage_error({"--csr-out", "r", "--server", "https://x", "fd00::5"},
                       "--server does not apply offline");
    expect_usage_error({"--renew", "--csr-out", "r"}, "exclude each other");
    expect_usage_error({"--server", "http://x:8443", "auto"}, "--server must be an https:// URL");
    expect_usage_error({"-c", "", "auto"}, "-c needs a file name");
}

void test_ipv4_option(void**) {
    auto a = parse({"--ipv4", "auto", "auto"});
    assert_true(a.has_value());
    assert_string_equal(a->ipv4->to_string().c_str(), "auto");
    assert_false(parse({"auto"})->ipv4.has_value());
    auto off = parse({"--ca-cert", "a", "--ca-key", "b", "--ipv4", "198.18.0.5", "fd00::5"});
    assert_true(off.has_value());
    assert_string_equal(off->ipv4->to_string().c_str(), "198.18.0.5");
    expect_usage_error({"--ipv4", "127.0.0.1", "auto"},
                       "--ipv4: 127.0.0.1 is not a routable unicast IPv4 address");
    expect_usage_error({"--ipv4", "198.18.0.5/32", "auto"},
                       "--ipv4: 198.18.0.5/32: give one IPv4 address or \"auto\", not a prefix");
    expect_usage_error({"--ipv4", "fd00::5", "auto"}, "--ipv4: fd00::5 is not an IPv4 address");
    expect_usage_error({"auto", "--ipv4"}, "option needs a value: --ipv4");
    expect_usage_error({"--ca-cert", "a", "--ca-key", "b", "--ipv4", "auto", "fd00::5"},
                       "offline (--ca-cert) needs an exact --ipv4 address, not auto");
    expect_usage_error({"--renew", "--ipv4", "auto"}, "--renew keeps the current certificate's");
    expect_usage_error({"--csr-out", "r", "--ipv4", "198.18.0.5", "fd00::5"},
                       "--csr-out writes an IPv6-only request: no --ipv4");
}

int teardown(void**) {
    delete g_argv;
    g_argv = nullptr;
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll_mode), cmocka_unit_test(test_default_server_url),
        cmocka_unit_test(test_other_modes), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_ipv4_option),
    };
    return cmocka_run_group_tests_name("keygen_args", tests, nullptr, teardown);
}
