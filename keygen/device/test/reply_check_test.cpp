// The checks of an enrollment reply before anything is written: the key,
// the address (CN = SAN, the reply's field, the request), the chain to
// the configured CA, and when a returned CA may replace it. Certificates
// are real (test_certs.hpp, and the offline signer's profile).
#include "cert_profile.hpp"
#include "key_material.hpp"
#include "reply_check.hpp"

#include "test.hpp"
#include "test_certs.hpp"

#include <cstring>
#include <optional>

using namespace enftun::keygen;
using enftun::tls::X509Ptr;
using test_certs::CertSpec;
using test_certs::KeyCert;

namespace {

struct Pki {
    KeyCert ca = test_certs::make_ca("keygen test CA");
    KeyCert other_ca = test_certs::make_ca("another CA");
    enftun::tls::PkeyPtr key = test_certs::make_key(); // "made on the device"
    std::vector<X509Ptr> configured;
    std::vector<X509Ptr> no_chain;
    AddressRequest request;
    std::string scratch;
};

Pki* g = nullptr;

int setup(void**) {
    g = new Pki;
    g->configured.push_back(X509Ptr(X509_dup(g->ca.cert.get())));
    return g->ca && g->other_ca && g->key ? 0 : -1;
}

int teardown(void**) {
    delete g;
    g = nullptr;
    return 0;
}

std::string signed_by(const KeyCert& ca, EVP_PKEY* key, const char* addr) {
    auto cert = sign_device_cert(key, ca.cert.get(), ca.key.get(),
                                 *enftun::proto::Ipv6Addr::parse(addr), std::nullopt, 30);
    return cert ? cert_to_pem(cert->get()) : std::string();
}

Reply reply_for(const std::string& cert, const char* addr, const KeyCert& ca) {
    return Reply{addr, cert, cert_to_pem(ca.cert.get())};
}

Outcome<CheckedReply> check(const char* request, const Reply& reply,
                            const std::vector<X509Ptr>& chain) {
    g->request = *parse_address_request(request);
    return check_reply({&g->request, g->key.get(), &g->configured, &chain}, reply);
}

void expect_refused(const char* request, const Reply& reply, const char* fragment) {
    auto r = check(request, reply, g->no_chain);
    if (r) {
        fail_msg("reply accepted, expected \"%s\"", fragment);
    }
    if (std::strstr(r.error().message.c_str(), fragment) == nullptr) {
        fail_msg("\"%s\" lacks \"%s\"", r.error().message.c_str(), fragment);
    }
}

void test_accepts_a_good_reply(void**) {
    const auto cert = signed_by(g->ca, g->key.get(), "fd00:e:0:1::7");
    for (const char* request : {"auto", "fd00:e:0:1::/64", "fd00:e:0:1::7"}) {
        auto r = check(request, reply_for(cert, "fd00:e:0:1::7", g->ca), g->no_chain);
        assert_true(r.has_value());
        assert_string_equal(r->address.to_string().c_str(), "fd00:e:0:1::7");
        assert_null(r->new_ca.get()); // the configured CA: nothing to write
    }
}

void test_refuses_another_key(void**) {
    auto other = test_certs::make_key();
    const auto cert = signed_by(g->ca, other.get(), "fd00:e::7");
    expect_refused("auto", reply_for(cert, "fd00:e::7", g->ca),
                   "not for the key made on this device");
}

void test_refuses_an_address_not_asked_for(void**) {
    const auto cert = signed_by(g->ca, g->key.get(), "fd00:e:0:2::7");
    expect_refused("fd00:e:0:1::/64", reply_for(cert, "fd00:e:0:2::7", g->ca),
                   "is not what was asked for (fd00:e:0:1::/64)");
    expect_refused("fd00:e:0:2::8", reply_for(cert, "fd00:e:0:2::7", g->ca),
                   "is not what was asked for");
    expect_refused("auto", reply_for(cert, "fd00:e:0:2::8", g->ca),
                   "reply's address \"fd00:e:0:2::8\" is not the certificate's fd00:e:0:2::7");
}

void test_refuses_bad_identity(void**) {
    CertSpec cn_san;
    cn_san.cns = {"fd00:e::5"};
    cn_san.san = {"IP:fd00:e::6"};
    cn_san.usage = test_certs::Usage::Client;
    auto differ = test_certs::make_cert(cn_san, g->key.get(), g->ca.cert.get(), g->ca.key.get());
    expect_refused("auto", reply_for(cert_to_pem(differ.get()), "fd00:e::5", g->ca),
                   "certificate subjectAltName IP disagrees with its CN");

    CertSpec no_san = cn_san;
    no_san.san.clear();
    auto bare = test_certs::make_cert(no_san, g->key.get(), g->ca.cert.get(), g->ca.key.get());
    expect_refused("auto", reply_for(cert_to_pem(bare.get()), "fd00:e::5", g->ca),
                   "has no subjectAltName IP");

    CertSpec mcast = cn_san;
    mcast.cns = {"fe80::5"};
    mcast.san = {"IP:fe80::5"};
    auto m = test_certs::make_cert(mcast, g->key.get(), g->ca.cert.get(), g->ca.key.get());
    expect_refused("auto", reply_for(cert_to_pem(m.get()), "fe80::5", g->ca),
                   "the certificate Common Name is not a unicast, routable IPv6");

    CertSpec server_only = cn_san;
    server_only.san = {"IP:fd00:e::5"};
    server_only.usage = test_certs::Usage::Server;
    auto s = test_certs::make_cert(server_only, g->key.get(), g->ca.cert.get(), g->ca.key.get());
    expect_refused("auto", reply_for(cert_to_pem(s.get()), "fd00:e::5", g->ca),
                   "does not verify against the configured CA");

    expect_refused("auto", Reply{"fd00:e::5", "not pem", cert_to_pem(g->ca.cert.get())},
                   "the reply's certificate: no PEM certificate");
    const auto good = signed_by(g->ca, g->key.get(), "fd00:e::5");
    expect_refused("auto", Reply{"fd00:e::5", good, "junk"}, "the reply's CA");
}

void test_refuses_another_ca(void**) {
    // Signed by a CA the device does not trust, which also says it is the CA.
    const auto cert = signed_by(g->other_ca, g->key.get(), "fd00:e::7");
    expect_refused("auto", reply_for(cert, "fd00:e::7", g->other_ca),
                   "does not verify against the configured CA");
    // ... even when the service's own chain is one of ours.
    CertSpec server;
    server.cns = {"enroll"};
    server.usage = test_certs::Usage::Server;
    std::vector<X509Ptr> chain;
    chain.push_back(test_certs::make_leaf(g->ca, server).cert);
    auto r = check("auto", reply_for(cert, "fd00:e::7", g->other_ca), chain);
    assert_false(r.has_value());
}

// A CA certificate for ca's name and key, issued by issuer: a cross
// certificate (whoever holds issuer's key can make one for any public key).
X509Ptr cross_cert(const char* name, const KeyCert& ca, const KeyCert& issuer) {
    CertSpec spec;
    spec.cns = {name};
    spec.ca = true;
    return test_certs::make_cert(spec, ca.key.get(), issuer.cert.get(), issuer.key.get());
}

CertSpec service_spec() {
    CertSpec server;
    server.cns = {"enroll"};
    server.usage = test_certs::Usage::Server;
    return server;
}

void test_takes_a_new_ca_that_verifies_the_service(void**) {
    // A rotated CA: it signed the service's certificate, and the configured
    // CA cross-signed it, so the transport verified the chain the service
    // sent (its certificate, the cross certificate) against the configured
    // file.
    std::vector<X509Ptr> chain;
    chain.push_back(test_certs::make_leaf(g->other_ca, service_spec()).cert);
    chain.push_back(cross_cert("another CA", g->other_ca, g->ca));
    const auto cert = signed_by(g->other_ca, g->key.get(), "fd00:e::7");
    auto r = check("auto", reply_for(cert, "fd00:e::7", g->other_ca), chain);
    if (!r) {
        fail_msg("%s", r.error().message.c_str());
    }
    assert_non_null(r->new_ca.get());
    assert_int_equal(X509_cmp(r->new_ca.get(), g->other_ca.cert.get()), 0);
}

void test_refuses_a_new_ca_the_configured_one_does_not_vouch_for(void**) {
    // A service with a certificate from the configured CA (any server the
    // CA certified for the URL's host: the router, by default) makes a CA
    // of its own, and sends with its certificate a cross certificate from
    // that CA for the configured CA's name and public key. Its chain then
    // "verifies" against its CA too, but nothing the device trusts vouches
    // for that CA: it must not replace remote.ca_cert_file (the CA the
    // tunnel checks the router against), nor sign the device certificate.
    std::vector<X509Ptr> chain;
    chain.push_back(test_certs::make_leaf(g->ca, service_spec()).cert);
    chain.push_back(cross_cert("keygen test CA", g->ca, g->other_ca));
    const auto cert = signed_by(g->other_ca, g->key.get(), "fd00:e::7");
    auto r = check("auto", reply_for(cert, "fd00:e::7", g->other_ca), chain);
    if (r) {
        fail_msg("reply accepted; new CA written: %s", r->new_ca ? "yes" : "no");
    }
    assert_non_null(
        std::strstr(r.error().message.c_str(), "does not verify against the configured CA"));
    // The chain without the cross certificate: the same refusal.
    chain.pop_back();
    assert_false(check("auto", reply_for(cert, "fd00:e::7", g->other_ca), chain).has_value());
    // And the service's certificate alone, signed by the new CA, which the
    // configured CA does not vouch for (no transport would have taken it).
    std::vector<X509Ptr> alone;
    alone.push_back(test_certs::make_leaf(g->other_ca, service_spec()).cert);
    assert_false(check("auto", reply_for(cert, "fd00:e::7", g->other_ca), alone).has_value());
}

// A reply whose certificate carries ipv4_san (SAN entries "IP:a.b.c.d")
// and whose "ipv4" field says said, checked against the request ipv4.
Outcome<CheckedReply> check_ipv4(const char* ipv4, std::vector<std::string> ipv4_san,
                                 const char* said) {
    CertSpec spec;
    spec.cns = {"fd00:e::5"};
    spec.san = {"IP:fd00:e::5"};
    spec.san.insert(spec.san.end(), ipv4_san.begin(), ipv4_san.end());
    spec.usage = test_certs::Usage::Client;
    auto cert = test_certs::make_cert(spec, g->key.get(), g->ca.cert.get(), g->ca.key.get());
    Reply reply = reply_for(cert_to_pem(cert.get()), "fd00:e::5", g->ca);
    reply.ipv4 = said;
    g->request = *parse_address_request("auto");
    std::optional<Ipv4Request> asked;
    if (ipv4 != nullptr) {
        asked = *parse_ipv4_request(ipv4);
    }
    return check_reply(
        {&g->request, g->key.get(), &g->configured, &g->no_chain, asked ? &*asked : nullptr},
        reply);
}

void expect_ipv4_refused(Outcome<CheckedReply> r, const char* fragment) {
    if (r) {
        fail_msg("reply accepted, expected \"%s\"", fragment);
    }
    if (std::strstr(r.error().message.c_str(), fragment) == nullptr) {
        fail_msg("\"%s\" lacks \"%s\"", r.error().message.c_str(), fragment);
    }
}

void test_ipv4_as_asked(void**) {
    for (const char* asked : {"auto", "198.18.0.5"}) {
        auto r = check_ipv4(asked, {"IP:198.18.0.5"}, "198.18.0.5");
        if (!r) {
            fail_msg("%s: %s", asked, r.error().message.c_str());
        }
        assert_string_equal(format_ipv4(*r->ipv4).c_str(), "198.18.0.5");
        assert_string_equal(r->address.to_string().c_str(), "fd00:e::5");
    }
    // The offline signer's profile carries it the same way.
    auto cert = sign_device_cert(g->key.get(), g->ca.cert.get(), g->ca.key.get(),
                                 *enftun::proto::Ipv6Addr::parse("fd00:e::5"),
                                 *parse_ipv4_addr("198.18.0.9"), 30);
    Reply reply = reply_for(cert_to_pem(cert->get()), "fd00:e::5", g->ca);
    reply.ipv4 = "198.18.0.9";
    g->request = *parse_address_request("fd00:e::5");
    const Ipv4Request exact = *parse_ipv4_request("198.18.0.9");
    auto r = check_reply({&g->request, g->key.get(), &g->configured, &g->no_chain, &exact}, reply);
    assert_true(r.has_value());
    assert_string_equal(format_ipv4(*r->ipv4).c_str(), "198.18.0.9");
}

void test_ipv4_refusals(void**) {
    expect_ipv4_refused(check_ipv4("198.18.0.6", {"IP:198.18.0.5"}, "198.18.0.5"),
                        "the certificate's IPv4 address 198.18.0.5 is not what was asked for "
                        "(198.18.0.6)");
    expect_ipv4_refused(check_ipv4("auto", {}, ""),
                        "the certificate has 0 IPv4 addresses, not one (asked for auto)");
    expect_ipv4_refused(check_ipv4("auto", {"IP:198.18.0.5", "IP:198.18.0.6"}, "198.18.0.5"),
                        "the certificate has 2 IPv4 addresses, not one");
    expect_ipv4_refused(check_ipv4("auto", {"IP:198.18.0.5"}, "198.18.0.7"),
                        "the reply's ipv4 \"198.18.0.7\" is not the certificate's 198.18.0.5");
    expect_ipv4_refused(check_ipv4("auto", {"IP:198.18.0.5"}, ""),
                        "the reply's ipv4 \"\" is not the certificate's 198.18.0.5");
    expect_ipv4_refused(check_ipv4("auto", {"IP:127.0.0.1"}, "127.0.0.1"),
                        "IPv4 address 127.0.0.1 is not what was asked for");
    expect_ipv4_refused(check_ipv4(nullptr, {"IP:198.18.0.5"}, "198.18.0.5"),
                        "carries the IPv4 address 198.18.0.5, which was not asked for");
    expect_ipv4_refused(check_ipv4(nullptr, {}, "198.18.0.5"),
                        "the reply names an IPv4 address, which was not asked for");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_a_good_reply),
        cmocka_unit_test(test_refuses_another_key),
        cmocka_unit_test(test_refuses_an_address_not_asked_for),
        cmocka_unit_test(test_refuses_bad_identity),
        cmocka_unit_test(test_refuses_another_ca),
        cmocka_unit_test(test_takes_a_new_ca_that_verifies_the_service),
        cmocka_unit_test(test_refuses_a_new_ca_the_configured_one_does_not_vouch_for),
        cmocka_unit_test(test_ipv4_as_asked),
        cmocka_unit_test(test_ipv4_refusals),
    };
    return cmocka_run_group_tests_name("keygen_reply_check", tests, setup, teardown);
}
