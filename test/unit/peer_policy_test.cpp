// PeerPolicy: who may be on the other end. Real handshakes between a client
// and a router TlsStream over a socketpair, with certificates of one CA that
// differ in EKU, name and key; plus the pure helpers (EKU, SPKI digest,
// pins, prefixes).
#include "enftun/tls/peer_policy.hpp"

#include "enftun/tls/tls_context.hpp"
#include "enftun/tls/tls_stream.hpp"

#include <sys/socket.h>

#include <optional>
#include <string>

#include "test_certs.hpp"

#include "test.hpp"

using enftun::UniqueFd;
using enftun::proto::Ipv6Addr;
using enftun::tls::Credentials;
using enftun::tls::Io;
using enftun::tls::PeerPolicy;
using enftun::tls::Role;
using enftun::tls::TlsContext;
using enftun::tls::TlsStream;
using test_certs::CertSpec;
using test_certs::Usage;

namespace {

struct State {
    std::string dir;
    test_certs::KeyCert ca;
    std::optional<TlsContext> client_ctx;
    std::optional<TlsContext> server_ctx;
    std::optional<TlsStream> client;
    std::optional<TlsStream> server;
};
std::optional<State> g;

// Writes a leaf of g->ca as dir/<stem>.crt/.key; returns its credentials.
Credentials leaf(const std::string& stem, std::vector<std::string> cns,
                 std::vector<std::string> san, Usage usage, long not_before_s = -3600) {
    CertSpec spec;
    spec.cns = std::move(cns);
    spec.san = std::move(san);
    spec.usage = usage;
    spec.not_before_s = not_before_s;
    auto kc = test_certs::make_leaf(g->ca, spec);
    if (!kc || !test_certs::write_pair(g->dir, stem, kc)) {
        fail_msg("cannot write %s", stem.c_str());
    }
    return {g->dir + "/ca.crt", g->dir + "/" + stem + ".crt", g->dir + "/" + stem + ".key"};
}

Credentials router_cert(Usage usage = Usage::Server,
                        std::vector<std::string> san = {"IP:fd00:100::1", "DNS:router.test"}) {
    return leaf("router", {"enftun-router"}, std::move(san), usage);
}

Credentials client_cert(const std::string& addr = "fd00:e::5", Usage usage = Usage::Client) {
    return leaf("client", {addr}, {"IP:" + addr}, usage);
}

struct Outcome {
    bool client_done = false;
    bool server_done = false;
    std::string client_refusal;
    std::string server_refusal;
    std::string client_error; // TlsStream::error() of a failed side
    std::string server_error;
};

// One handshake; the client expects `name`. Runs until both are done or
// either failed (a refused side fails, the other then sees the alert).
Outcome handshake(const Credentials& client, const Credentials& server, const std::string& name,
                  PeerPolicy client_policy = {}, PeerPolicy server_policy = {}) {
    auto cctx = TlsContext::create(Role::Client, client, std::move(client_policy));
    auto sctx = TlsContext::create(Role::Server, server, std::move(server_policy));
    assert_true(cctx.has_value() && sctx.has_value());
    TlsContext& cc = g->client_ctx.emplace(std::move(*cctx));
    TlsContext& sc = g->server_ctx.emplace(std::move(*sctx));
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    auto c = TlsStream::create(cc, UniqueFd(fds[0]), name);
    auto s = TlsStream::create(sc, UniqueFd(fds[1]));
    assert_true(c.has_value() && s.has_value());
    TlsStream& cs = g->client.emplace(std::move(*c));
    TlsStream& ss = g->server.emplace(std::move(*s));
    Outcome out;
    bool failed = false;
    for (int i = 0; i < 50 && !failed && !(out.client_done && out.server_done); ++i) {
        if (!out.client_done) {
            auto r = cs.handshake().status;
            out.client_done = r == Io::Done;
            failed = r == Io::Error || r == Io::Closed;
        }
        if (!out.server_done && !failed) {
            auto r = ss.handshake().status;
            out.server_done = r == Io::Done;
            failed = r == Io::Error || r == Io::Closed;
        }
    }
    out.client_refusal = cs.refusal();
    out.server_refusal = ss.refusal();
    out.client_error = cs.error();
    out.server_error = ss.error();
    return out;
}

void expect_up(const Outcome& o) {
    if (!o.client_done || !o.server_done) {
        fail_msg("handshake did not complete: client \"%s\" router \"%s\"",
                 o.client_refusal.c_str(), o.server_refusal.c_str());
    }
}

void expect_refused(const std::string& refusal, const std::string& fragment) {
    if (refusal.find(fragment) == std::string::npos) {
        fail_msg("refusal \"%s\" lacks \"%s\"", refusal.c_str(), fragment.c_str());
    }
}

// ---- the clock: validity against a clock that is behind (clock_floor.hpp) ----

constexpr long kDay = 86400;

// The clock behind both certificates' start, as on a device without a
// battery-backed clock: ours began later than the clock says, so the
// router's is checked as at our start, where it is valid. (Both ends share
// this process's clock, so the router's certificate begins at the same time
// as the client's: each end's floor then passes the other's.)
void test_clock_behind_our_certificate_checks_at_its_start(void**) {
    const time_t start = time(nullptr) + 2 * kDay;
    CertSpec spec;
    spec.not_before_at = start;
    spec.cns = {"fd00:e::5"};
    spec.san = {"IP:fd00:e::5"};
    spec.usage = Usage::Client;
    auto client = test_certs::make_leaf(g->ca, spec);
    spec.cns = {"enftun-router"};
    spec.san = {"IP:fd00:100::1"};
    spec.usage = Usage::Server;
    auto router = test_certs::make_leaf(g->ca, spec);
    assert_true(client && router && test_certs::write_pair(g->dir, "client", client) &&
                test_certs::write_pair(g->dir, "router", router));
    const std::string ca = g->dir + "/ca.crt";
    expect_up(handshake({ca, g->dir + "/client.crt", g->dir + "/client.key"},
                        {ca, g->dir + "/router.crt", g->dir + "/router.key"}, "fd00:100::1"));
}

// A router certificate that began after ours is still refused while the clock
// is behind, and the reason names both times and the clock.
void test_router_certificate_newer_than_ours_is_refused_naming_the_clock(void**) {
    const auto c = leaf("client", {"fd00:e::5"}, {"IP:fd00:e::5"}, Usage::Client, kDay);
    const auto r = leaf("router", {"enftun-router"}, {"IP:fd00:100::1"}, Usage::Server, 2 * kDay);
    auto o = handshake(c, r, "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_error, "peer certificate: certificate is not yet valid: valid from ");
    expect_refused(o.client_error, "; this machine's clock says ");
    expect_refused(o.client_error, ", before its own certificate's start: checked as at ");
    expect_refused(o.client_error, "(a clock that is behind: set it");
}

// Our own certificate current (the clock is right as far as we know): a
// router certificate not yet valid is refused as before, with the note.
void test_not_yet_valid_router_is_refused_by_a_right_clock(void**) {
    const auto c = client_cert();
    const auto r = leaf("router", {"enftun-router"}, {"IP:fd00:100::1"}, Usage::Server, kDay);
    auto o = handshake(c, r, "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_error, "certificate is not yet valid: valid from ");
    if (o.client_error.find("checked as at") != std::string::npos) {
        fail_msg("no floor expected: \"%s\"", o.client_error.c_str());
    }
}

// The router's side: an expired client certificate's refusal names its
// validity and the clock.
void test_router_names_the_validity_of_an_expired_client(void**) {
    CertSpec spec;
    spec.cns = {"fd00:e::5"};
    spec.san = {"IP:fd00:e::5"};
    spec.usage = Usage::Client;
    spec.not_before_s = -3 * kDay;
    spec.days = 1; // ended two days ago
    auto kc = test_certs::make_leaf(g->ca, spec);
    assert_true(kc && test_certs::write_pair(g->dir, "expired", kc));
    const Credentials c{g->dir + "/ca.crt", g->dir + "/expired.crt", g->dir + "/expired.key"};
    auto o = handshake(c, router_cert(), "fd00:100::1");
    assert_false(o.server_done);
    expect_refused(o.server_error, "certificate has expired: valid from ");
    expect_refused(o.server_error,
                   "(if the certificate is not really expired, the clock is ahead)");
}

// ---- the client checks the router ----

void test_right_router_by_ip_and_by_name(void**) {
    const auto c = client_cert();
    const auto r = router_cert();
    expect_up(handshake(c, r, "fd00:100::1"));
    expect_up(handshake(c, r, "router.test"));
    expect_up(handshake(c, r, "ROUTER.test")); // DNS names are case-insensitive
}

void test_router_with_another_name_is_refused(void**) {
    const auto c = client_cert();
    // Another service of the same CA: serverAuth, but not for this address.
    const auto other = router_cert(Usage::Server, {"IP:fd00:100::9", "DNS:other.test"});
    auto o = handshake(c, other, "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "router certificate refused: wrong name: not issued for "
                                     "fd00:100::1");
    o = handshake(c, other, "router.test");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "wrong name: not issued for router.test");
    // No subjectAltName at all: the CN is never taken as a name.
    const auto bare = leaf("bare", {"fd00:100::1"}, {}, Usage::Server);
    o = handshake(c, bare, "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "wrong name");
}

void test_router_without_server_eku_is_refused(void**) {
    const auto c = client_cert();
    // Right name, no EKU extension (OpenSSL's purpose check would pass it).
    auto o = handshake(c, router_cert(Usage::None), "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal,
                   "router certificate refused: no serverAuth extended key usage");
    // clientAuth only.
    o = handshake(c, router_cert(Usage::Client), "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "no serverAuth extended key usage");
    // A client certificate without EKU, as in the attack: EKU is named first.
    o = handshake(c, leaf("victim", {"fd00:e::7"}, {"IP:fd00:e::7"}, Usage::None), "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "no serverAuth");
}

void test_router_with_both_ekus_for_a_client_address_is_refused(void**) {
    const auto c = client_cert();
    auto o =
        handshake(c, leaf("both", {"fd00:e::7"}, {"IP:fd00:e::7"}, Usage::Both), "fd00:100::1");
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "wrong name");
}

void test_pins(void**) {
    const auto c = client_cert();
    const auto r = router_cert();
    auto cert = test_certs::X509Ptr();
    {
        enftun::tls::BioPtr bio(BIO_new_file(r.cert_file.c_str(), "r"));
        cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    }
    assert_non_null(cert.get());
    const auto right = enftun::tls::spki_sha256(cert.get());
    auto wrong = right;
    wrong[0] ^= 1;
    PeerPolicy one_wrong;
    one_wrong.pins = {wrong};
    auto o = handshake(c, r, "fd00:100::1", one_wrong);
    assert_false(o.client_done);
    expect_refused(o.client_refusal, "router certificate refused: public key " +
                                         enftun::tls::format_sha256_hex(right) +
                                         " matches no remote.pin_sha256");
    // A key roll: old and new pins side by side.
    PeerPolicy staged;
    staged.pins = {wrong, right};
    expect_up(handshake(c, r, "fd00:100::1", staged));
    // The name is still checked when the pin matches.
    o = handshake(c, r, "fd00:100::2", staged);
    expect_refused(o.client_refusal, "wrong name");
}

// ---- the router checks the client ----

void test_router_refuses_client_without_client_eku(void**) {
    const auto r = router_cert();
    for (Usage u : {Usage::None, Usage::Server}) {
        auto o = handshake(client_cert("fd00:e::5", u), r, "fd00:100::1");
        assert_false(o.server_done);
        expect_refused(o.server_refusal, "client certificate refused: no clientAuth extended key "
                                         "usage");
    }
    expect_up(handshake(client_cert("fd00:e::5", Usage::Both), r, "fd00:100::1"));
}

void test_router_refuses_its_own_addresses_and_foreign_prefixes(void**) {
    const auto r = router_cert();
    PeerPolicy policy;
    policy.reserved_addresses = {*Ipv6Addr::parse("fd00:e::1"), *Ipv6Addr::parse("fd00:e::2")};
    policy.client_prefixes = {{*Ipv6Addr::parse("fd00:e::"), 64},
                              {*Ipv6Addr::parse("fd00:f::"), 48}};
    auto o = handshake(client_cert("fd00:e::1"), r, "fd00:100::1", {}, policy);
    assert_false(o.server_done);
    expect_refused(o.server_refusal, "client certificate refused: address fd00:e::1 is the "
                                     "router's own");
    o = handshake(client_cert("fd00:e::2"), r, "fd00:100::1", {}, policy);
    expect_refused(o.server_refusal, "is the router's own");
    o = handshake(client_cert("fd00:e:0:1::5"), r, "fd00:100::1", {}, policy);
    assert_false(o.server_done);
    expect_refused(o.server_refusal, "address fd00:e:0:1::5 outside router.client_prefixes");
    expect_up(handshake(client_cert("fd00:e::5"), r, "fd00:100::1", {}, policy));
    expect_up(handshake(client_cert("fd00:f:0:9::5"), r, "fd00:100::1", {}, policy));
}

// Inner IPv4: a certificate's IPv4 SAN must lie in ipv4_client_prefixes
// when they are set; with none set it is not judged (IPv4 off).
void test_router_refuses_ipv4_outside_its_prefixes(void**) {
    const auto r = router_cert();
    const auto v4_client = [](const std::string& v4) {
        return leaf("client4", {"fd00:e::5"}, {"IP:fd00:e::5", "IP:" + v4}, Usage::Client);
    };
    PeerPolicy policy;
    policy.client_ipv4_prefixes = {{{198, 18, 0, 0}, 24}, {{198, 19, 0, 0}, 16}};
    auto o = handshake(v4_client("198.18.1.5"), r, "fd00:100::1", {}, policy);
    assert_false(o.server_done);
    expect_refused(o.server_refusal, "client certificate refused: IPv4 address 198.18.1.5 outside "
                                     "router.ipv4_client_prefixes");
    expect_up(handshake(v4_client("198.18.0.5"), r, "fd00:100::1", {}, policy));
    expect_up(handshake(v4_client("198.19.200.5"), r, "fd00:100::1", {}, policy));
    // A prefix's network and broadcast addresses name no host.
    for (const char* edge : {"198.18.0.255", "198.18.0.0", "198.19.255.255"}) {
        o = handshake(v4_client(edge), r, "fd00:100::1", {}, policy);
        assert_false(o.server_done);
        expect_refused(o.server_refusal, std::string("client certificate refused: IPv4 address ") +
                                             edge +
                                             " is the network or broadcast address of a "
                                             "prefix in router.ipv4_client_prefixes");
    }
    expect_up(handshake(v4_client("198.19.0.255"), r, "fd00:100::1", {}, policy));
    // No IPv4 in the certificate: IPv6 only, as with the original enftun.
    expect_up(handshake(client_cert(), r, "fd00:100::1", {}, policy));
    // Prefixes unset: the IPv4 is ignored, not refused.
    expect_up(handshake(v4_client("198.18.1.5"), r, "fd00:100::1"));
}

// ---- pure helpers ----

void test_prefix_contains(void**) {
    using enftun::tls::prefix_contains;
    const enftun::tls::AddrPrefix p{*Ipv6Addr::parse("fd00:8000::"), 17};
    assert_true(prefix_contains(p, *Ipv6Addr::parse("fd00:8000::1")));
    assert_true(prefix_contains(p, *Ipv6Addr::parse("fd00:ffff::1")));
    assert_false(prefix_contains(p, *Ipv6Addr::parse("fd00:7fff::1")));
    assert_true(prefix_contains({{}, 0}, *Ipv6Addr::parse("2001:db8::1")));
    const enftun::tls::AddrPrefix host{*Ipv6Addr::parse("fd00::1"), 128};
    assert_true(prefix_contains(host, *Ipv6Addr::parse("fd00::1")));
    assert_false(prefix_contains(host, *Ipv6Addr::parse("fd00::2")));
}

void test_sha256_hex(void**) {
    using enftun::tls::parse_sha256_hex;
    const std::string hexd = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    auto d = parse_sha256_hex(hexd);
    assert_true(d.has_value());
    assert_int_equal((*d)[0], 0xe3);
    assert_string_equal(enftun::tls::format_sha256_hex(*d).c_str(),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_false(parse_sha256_hex(hexd.substr(1)).has_value());
    assert_false(parse_sha256_hex(hexd.substr(1) + "x").has_value());
}

int setup(void**) {
    g.emplace();
    g->dir = test_certs::make_temp_dir();
    g->ca = test_certs::make_ca("enftun test CA");
    return !g->dir.empty() && g->ca &&
                   test_certs::write_cert_pem(g->dir + "/ca.crt", g->ca.cert.get())
               ? 0
               : -1;
}

int teardown(void**) {
    g->client.reset();
    g->server.reset();
    g->client_ctx.reset();
    g->server_ctx.reset();
    return test_certs::remove_dir_and_state(g);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_right_router_by_ip_and_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_behind_our_certificate_checks_at_its_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_router_certificate_newer_than_ours_is_refused_naming_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_yet_valid_router_is_refused_by_a_right_clock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_names_the_validity_of_an_expired_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_with_another_name_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_without_server_eku_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_with_both_ekus_for_a_client_address_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_refuses_client_without_client_eku, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_refuses_its_own_addresses_and_foreign_prefixes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_refuses_ipv4_outside_its_prefixes, setup,
                                        teardown),
        cmocka_unit_test(test_prefix_contains),
        cmocka_unit_test(test_sha256_hex),
    };
    return cmocka_run_group_tests_name("peer_policy", tests, nullptr, nullptr);
}
