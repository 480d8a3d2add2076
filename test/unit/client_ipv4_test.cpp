// Unit tests for client/client_ipv4: the client's inner IPv4 address from
// route.allow_ipv4, tun.ipv4_address and the certificate's IPv4 (a 4-octet
// subjectAltName IP entry), with real certificates written to a mkdtemp
// folder.
#include "enftun/client/client_ipv4.hpp"

#include <cstring>
#include <optional>
#include <string>

#include "test_certs.hpp"

#include "test.hpp"

using enftun::Errc;
using enftun::proto::Ipv4Addr;
using enftun::tunnel::client_ipv4;
using enftun::tunnel::effective_ipv4;

namespace {

const Ipv4Addr kCert{198, 18, 0, 5};
const Ipv4Addr kOther{198, 18, 0, 9};

struct State {
    std::string dir;
    test_certs::KeyCert ca;
};
std::optional<State> g;

// A client certificate for fd00:e::5 with the SAN entries san, as a file.
std::string cert_file(const std::string& stem, std::vector<std::string> san) {
    test_certs::CertSpec spec;
    spec.cns = {"fd00:e::5"};
    spec.san = std::move(san);
    auto kc = test_certs::make_leaf(g->ca, spec);
    assert_true(static_cast<bool>(kc));
    const std::string path = g->dir + "/" + stem + ".crt";
    assert_true(test_certs::write_cert_pem(path, kc.cert.get()));
    return path;
}

void test_effective_ipv4(void**) {
    std::string why;
    // Without allow_ipv4, or without an IPv4 in the certificate: as configured.
    auto r = effective_ipv4(false, std::nullopt, kCert, why);
    assert_true(r.has_value() && !r->has_value());
    r = effective_ipv4(false, kOther, kCert, why);
    assert_true(r.has_value() && *r == kOther);
    r = effective_ipv4(true, kOther, std::nullopt, why);
    assert_true(r.has_value() && *r == kOther);
    r = effective_ipv4(true, std::nullopt, std::nullopt, why);
    assert_true(r.has_value() && !r->has_value());
    // With both: the certificate's is the default, and must be the one.
    r = effective_ipv4(true, std::nullopt, kCert, why);
    assert_true(r.has_value() && *r == kCert);
    r = effective_ipv4(true, kCert, kCert, why);
    assert_true(r.has_value() && *r == kCert);
    assert_true(why.empty());
    r = effective_ipv4(true, kOther, kCert, why);
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Config));
    assert_string_equal(why.c_str(),
                        "tun.ipv4_address 198.18.0.9 is not the certificate's IPv4 address "
                        "198.18.0.5");
}

void test_client_ipv4_reads_the_certificate(void**) {
    enftun::config::ClientConfig cfg;
    cfg.route.allow_ipv4 = true;
    cfg.identity.cert_file = cert_file("v4", {"IP:fd00:e::5", "IP:198.18.0.5"});
    auto r = client_ipv4(cfg);
    assert_true(r.has_value() && r->address == kCert && r->from_certificate);
    cfg.tun.ipv4_address = kCert; // the same: fine
    r = client_ipv4(cfg);
    assert_true(r.has_value() && r->address == kCert && r->from_certificate);
    cfg.tun.ipv4_address = kOther;
    r = client_ipv4(cfg);
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Config));
    // allow_ipv4 off: the certificate is not read for IPv4 at all.
    cfg.route.allow_ipv4 = false;
    r = client_ipv4(cfg);
    assert_true(r.has_value() && r->address == kOther && !r->from_certificate);
    // A certificate with two IPv4 addresses is refused.
    cfg.route.allow_ipv4 = true;
    cfg.tun.ipv4_address.reset();
    cfg.identity.cert_file = cert_file("two", {"IP:198.18.0.5", "IP:198.18.0.6"});
    r = client_ipv4(cfg);
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Identity));
    // None: IPv4 stays unchecked, as before certificates carried one.
    cfg.identity.cert_file = cert_file("none", {"IP:fd00:e::5"});
    r = client_ipv4(cfg);
    assert_true(r.has_value() && !r->address && !r->from_certificate);
}

int setup(void**) {
    return test_certs::make_dir_and_ca(g);
}

int teardown(void**) {
    return test_certs::remove_dir_and_state(g);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_effective_ipv4),
        cmocka_unit_test_setup_teardown(test_client_ipv4_reads_the_certificate, setup, teardown),
    };
    return cmocka_run_group_tests_name("client_ipv4", tests, nullptr, nullptr);
}
