// Unit tests for tls/identity: the tunnel address from a certificate's CN
// (PROTOCOL.md "Identity and addressing") with the subjectAltName cross-check,
// read from X509 objects and from PEM files made in a mkdtemp folder, and
// the atomic ip_file writer.
#include "enftun/tls/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "test_certs.hpp"

#include "test.hpp"

using enftun::Errc;
using enftun::proto::Ipv6Addr;
using test_certs::CertSpec;

namespace {

// Group-owned state: a failed assert longjmps past locals' destructors.
struct State {
    std::string dir;
    test_certs::KeyCert ca;
    test_certs::KeyCert leaf;
};
std::optional<State> g;

const Ipv6Addr kAddr = *Ipv6Addr::parse("fd00:1::5");

// Signs a leaf for spec with the group CA; keeps it in g->leaf.
X509* leaf(const CertSpec& spec) {
    g->leaf = test_certs::make_leaf(g->ca, spec);
    assert_true(static_cast<bool>(g->leaf));
    return g->leaf.cert.get();
}

CertSpec with_cn(const std::string& cn, std::vector<std::string> san = {}) {
    CertSpec spec;
    spec.cns = {cn};
    spec.san = std::move(san);
    return spec;
}

void expect_addr(X509* cert, const Ipv6Addr& want) {
    auto r = enftun::tls::address_from_cert(cert);
    if (!r) {
        fail_msg("address_from_cert: %s", r.error().what);
    }
    assert_true(*r == want);
}

void expect_identity_error(const enftun::Result<Ipv6Addr>& r) {
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Identity));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void test_cn_ipv6_gives_address(void**) {
    expect_addr(leaf(with_cn("fd00:1::5")), kAddr);
    // Any RFC 4291 spelling of the same address.
    expect_addr(leaf(with_cn("FD00:0001:0000:0000:0000:0000:0000:0005")), kAddr);
}

void test_cn_not_an_address_is_refused(void**) {
    const char* bad[] = {"router",     "1.2.3.4",      "fd00::1 extra", " fd00::1",
                         "fd00::1/64", "fd00::1%eth0", "fd00:::1",      ""};
    for (const char* cn : bad) {
        expect_identity_error(enftun::tls::address_from_cert(leaf(with_cn(cn))));
    }
}

void test_cn_unroutable_address_is_refused(void**) {
    // Addresses no client may own: fe80::1 is the router's own link-local.
    const char* bad[] = {"::", "::1", "fe80::1", "fe80::5", "ff02::1", "ff0e::5"};
    for (const char* cn : bad) {
        auto r = enftun::tls::address_from_cert(leaf(with_cn(cn)));
        expect_identity_error(r);
        assert_non_null(std::strstr(r.error().what, "routable"));
    }
    expect_addr(leaf(with_cn("2001:db8::5")), *enftun::proto::Ipv6Addr::parse("2001:db8::5"));
}

void test_cn_with_nul_is_refused(void**) {
    // "fd00:1::5\0evil": a C-string reader would see a valid address.
    expect_identity_error(
        enftun::tls::address_from_cert(leaf(with_cn(std::string("fd00:1::5\0evil", 14)))));
}

void test_no_cn_is_refused(void**) {
    CertSpec spec; // subject O=enftun tests only
    auto r = enftun::tls::address_from_cert(leaf(spec));
    expect_identity_error(r);
    assert_string_equal(r.error().what, "certificate has no Common Name");
}

void test_two_cns_are_refused(void**) {
    CertSpec spec;
    spec.cns = {"fd00:1::5", "fd00:1::6"};
    expect_identity_error(enftun::tls::address_from_cert(leaf(spec)));
    spec.cns = {"fd00:1::5", "fd00:1::5"}; // even when they agree
    expect_identity_error(enftun::tls::address_from_cert(leaf(spec)));
}

void test_san_ip_equal_is_accepted(void**) {
    expect_addr(leaf(with_cn("fd00:1::5", {"IP:fd00:1::5"})), kAddr);
    expect_addr(leaf(with_cn("fd00:1::5", {"DNS:client.example", "IP:fd00:1:0::5"})), kAddr);
}

void test_san_ip_different_is_refused(void**) {
    expect_identity_error(
        enftun::tls::address_from_cert(leaf(with_cn("fd00:1::5", {"IP:fd00:1::6"}))));
    // One agreeing entry does not excuse another that disagrees.
    expect_identity_error(enftun::tls::address_from_cert(
        leaf(with_cn("fd00:1::5", {"IP:fd00:1::5", "IP:fd00:1::6"}))));
}

// An IPv4 SAN binds the client to an IPv4 address too; the CN stays its
// IPv6 address, and an IPv6 SAN must still agree with it.
void test_san_ipv4_is_the_ipv4_address(void**) {
    X509* cert = leaf(with_cn("fd00:1::5", {"IP:198.18.0.5", "IP:fd00:1::5"}));
    expect_addr(cert, kAddr);
    auto v4 = enftun::tls::ipv4_from_cert(cert);
    assert_true(v4.has_value());
    assert_true(v4->has_value());
    assert_true(**v4 == (enftun::proto::Ipv4Addr{198, 18, 0, 5}));
    expect_identity_error(enftun::tls::address_from_cert(
        leaf(with_cn("fd00:1::5", {"IP:198.18.0.5", "IP:fd00:1::6"}))));
}

void test_no_ipv4_san_is_none(void**) {
    for (const auto& san : {std::vector<std::string>{}, std::vector<std::string>{"IP:fd00:1::5"},
                            std::vector<std::string>{"DNS:client.example"}}) {
        auto v4 = enftun::tls::ipv4_from_cert(leaf(with_cn("fd00:1::5", san)));
        assert_true(v4.has_value());
        assert_false(v4->has_value());
    }
}

void test_two_ipv4_sans_are_refused(void**) {
    auto r =
        enftun::tls::ipv4_from_cert(leaf(with_cn("fd00:1::5", {"IP:198.18.0.5", "IP:198.18.0.6"})));
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Identity));
    // Even the same address twice.
    r = enftun::tls::ipv4_from_cert(leaf(with_cn("fd00:1::5", {"IP:198.18.0.5", "IP:198.18.0.5"})));
    assert_false(r.has_value());
}

void test_unroutable_ipv4_san_is_refused(void**) {
    const char* bad[] = {"IP:127.0.0.1", "IP:0.0.0.0",   "IP:169.254.1.1",
                         "IP:224.0.0.1", "IP:240.0.0.1", "IP:255.255.255.255"};
    for (const char* san : bad) {
        auto r = enftun::tls::ipv4_from_cert(leaf(with_cn("fd00:1::5", {san})));
        assert_false(r.has_value());
        assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Identity));
        assert_non_null(std::strstr(r.error().what, "routable"));
    }
}

void test_san_dns_only_is_accepted(void**) {
    expect_addr(leaf(with_cn("fd00:1::5", {"DNS:client.example", "DNS:other.example"})), kAddr);
}

void test_self_signed_cert_file(void**) {
    test_certs::KeyCert kc{test_certs::make_key(), nullptr};
    kc.cert = test_certs::make_cert(with_cn("fd00:1::5"), kc.key.get());
    assert_true(static_cast<bool>(kc));
    std::string path = g->dir + "/self.crt";
    assert_true(test_certs::write_cert_pem(path, kc.cert.get()));
    auto r = enftun::tls::address_from_cert_file(path);
    assert_true(r.has_value());
    assert_true(*r == kAddr);
}

void test_cert_file_with_bad_cn(void**) {
    std::string path = g->dir + "/router.crt";
    assert_true(test_certs::write_cert_pem(path, leaf(with_cn("router"))));
    expect_identity_error(enftun::tls::address_from_cert_file(path));
}

void test_missing_file_is_refused(void**) {
    auto r = enftun::tls::address_from_cert_file(g->dir + "/nonexistent.crt");
    expect_identity_error(r);
    assert_int_equal(r.error().sys, ENOENT);
}

void test_non_pem_file_is_refused(void**) {
    std::string path = g->dir + "/garbage.crt";
    std::ofstream(path) << "this is not a certificate\n";
    expect_identity_error(enftun::tls::address_from_cert_file(path));
    std::string empty = g->dir + "/empty.crt";
    std::ofstream(empty).flush();
    expect_identity_error(enftun::tls::address_from_cert_file(empty));
    // A PEM private key is PEM, but not a certificate.
    std::string key = g->dir + "/only.key";
    assert_true(test_certs::write_key_pem(key, g->ca.key.get()));
    expect_identity_error(enftun::tls::address_from_cert_file(key));
    // The folder itself.
    expect_identity_error(enftun::tls::address_from_cert_file(g->dir));
}

// A FIFO where the certificate should be: refused at once (OpenSSL's read
// of it would wait for a writer, forever).
void test_fifo_cert_file_is_refused(void**) {
    std::string path = g->dir + "/fifo.crt";
    assert_int_equal(mkfifo(path.c_str(), 0600), 0);
    auto r = enftun::tls::address_from_cert_file(path);
    expect_identity_error(r);
    assert_string_equal(r.error().what, "certificate file is not a regular file");
    auto v4 = enftun::tls::ipv4_from_cert_file(path);
    assert_false(v4.has_value());
    assert_string_equal(v4.error().what, "certificate file is not a regular file");
}

void test_write_ip_file(void**) {
    std::string path = g->dir + "/ip";
    assert_true(enftun::tls::write_ip_file(path, kAddr).has_value());
    assert_string_equal(read_file(path).c_str(), "fd00:1::5\n");
    assert_int_equal(access((path + ".tmp").c_str(), F_OK), -1); // no temp left
}

void test_write_ip_file_replaces_atomically(void**) {
    std::string path = g->dir + "/ip";
    std::ofstream(path) << "old contents that are longer\n";
    // A reader that opened the old file keeps seeing it whole: the new file
    // is renamed over it, never truncated and rewritten in place.
    int old_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    assert_true(old_fd >= 0);
    auto st = enftun::tls::write_ip_file(path, *Ipv6Addr::parse("fd00:1::abcd"));
    char buf[64] = {};
    ssize_t n = pread(old_fd, buf, sizeof buf - 1, 0);
    close(old_fd);
    assert_true(st.has_value());
    assert_string_equal(buf, "old contents that are longer\n");
    assert_int_equal(n, 29);
    assert_string_equal(read_file(path).c_str(), "fd00:1::abcd\n");
}

// A symlink planted at the old predictable temp name ("ip.tmp") must not
// redirect the write: the temp file is mkstemp's, made with O_EXCL.
void test_write_ip_file_ignores_planted_symlink(void**) {
    const std::string path = g->dir + "/ip";
    const std::string victim = g->dir + "/victim";
    std::ofstream(victim) << "precious\n";
    assert_int_equal(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
    assert_true(enftun::tls::write_ip_file(path, kAddr).has_value());
    assert_string_equal(read_file(victim).c_str(), "precious\n");
    assert_string_equal(read_file(path).c_str(), "fd00:1::5\n");
    struct stat st {};
    assert_int_equal(lstat(path.c_str(), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    // Nothing else left behind: ip, victim and the planted link only.
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(g->dir)) {
        (void)e;
        ++entries;
    }
    assert_int_equal(entries, 3);
}

void test_write_ip_file_to_missing_dir_fails(void**) {
    auto st = enftun::tls::write_ip_file(g->dir + "/no/such/dir/ip", kAddr);
    assert_false(st.has_value());
    assert_int_equal(static_cast<int>(st.error().code), static_cast<int>(Errc::System));
    assert_int_equal(st.error().sys, ENOENT);
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
        cmocka_unit_test_setup_teardown(test_cn_ipv6_gives_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cn_not_an_address_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cn_unroutable_address_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cn_with_nul_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_cn_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_cns_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_san_ip_equal_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_san_ip_different_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_san_ipv4_is_the_ipv4_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ipv4_san_is_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_ipv4_sans_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unroutable_ipv4_san_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_san_dns_only_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_signed_cert_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_file_with_bad_cn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_pem_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_cert_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ip_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ip_file_replaces_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ip_file_ignores_planted_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_ip_file_to_missing_dir_fails, setup, teardown),
    };
    return cmocka_run_group_tests_name("identity", tests, nullptr, nullptr);
}
