// The CA (device certificates, CRLs) and the Registry that allocates,
// issues and records: enrol, renew, revoke, with a throw-away CA in a
// temporary folder. No HTTP: the service's handlers only wrap these.
#include "enroll/registry.hpp"

#include "common/atomic_file.hpp"
#include "csr_helpers.hpp"
#include "test.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

using namespace enftun::enroll;
using enftun::proto::Ipv6Addr;

namespace {

struct Fixture {
    std::string dir;
    EnrollConfig cfg;
    std::unique_ptr<Ca> ca;
};

std::string pem_of(X509* cert) {
    return enftun::keygen::cert_to_pem(cert);
}

std::string key_pem(EVP_PKEY* key) {
    enftun::tls::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed EC CA, written to dir/ca.pem and dir/ca.key.
void write_ca(const std::string& dir) {
    auto key = test_csr::make_key("P-256");
    enftun::tls::X509Ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test-ca"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_set_pubkey(cert.get(), key.get());
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                              std::pair{NID_subject_key_identifier, "hash"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(cert.get(), key.get(), EVP_sha256());
    (void)enftun::keygen::write_file_atomic(dir + "/ca.pem", pem_of(cert.get()), 0644);
    (void)enftun::keygen::write_file_atomic(dir + "/ca.key", key_pem(key.get()), 0600);
}

int setup(void** state) {
    char tmpl[] = "/tmp/enroll-registry-test.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    auto* f = new Fixture{tmpl, {}, nullptr};
    write_ca(f->dir);
    f->cfg.ca_cert_file = f->dir + "/ca.pem";
    f->cfg.ca_key_file = f->dir + "/ca.key";
    f->cfg.crl_file = f->dir + "/crl.pem";
    f->cfg.state_file = f->dir + "/enrolled";
    f->cfg.pool.push_back(enftun::config::parse_prefix("fd00:e::/64", false).value());
    f->cfg.cert_days = 30;
    auto ca = Ca::load(f->cfg.ca_cert_file, f->cfg.ca_key_file);
    if (!ca) {
        return -1;
    }
    f->ca = std::make_unique<Ca>(std::move(*ca));
    *state = f;
    return 0;
}

int teardown(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    const int rc = std::system(("rm -rf '" + f->dir + "'").c_str());
    delete f;
    return rc == 0 ? 0 : -1;
}

Fixture& fx(void** state) {
    return *static_cast<Fixture*>(*state);
}

bool has_ext_text(X509* cert, int nid, const char* want) {
    const int i = X509_get_ext_by_NID(cert, nid, -1);
    if (i < 0) {
        return false;
    }
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    enftun::tls::BioPtr bio(BIO_new(BIO_s_mem()));
    X509V3_EXT_print(bio.get(), ext, 0, 0);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n)) == want;
}

bool critical(X509* cert, int nid) {
    const int i = X509_get_ext_by_NID(cert, nid, -1);
    return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}

void test_issued_certificate(void** state) {
    Fixture& f = fx(state);
    auto key = test_csr::make_key("P-256");
    const Ipv6Addr addr = *Ipv6Addr::parse("fd00:e::5");
    const std::time_t now = std::time(nullptr);
    auto issued = f.ca->issue(key.get(), addr, std::nullopt, 30);
    assert_true(issued.has_value());
    X509* cert = issued->cert.get();
    assert_true(issued_by(cert, f.ca->cert()));
    assert_true(enftun::keygen::san_ipv6(cert) == addr);
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "fd00:e::5");
    assert_true(has_ext_text(cert, NID_ext_key_usage, "TLS Web Client Authentication"));
    assert_true(has_ext_text(cert, NID_key_usage, "Digital Signature"));
    assert_true(critical(cert, NID_key_usage));
    assert_true(has_ext_text(cert, NID_basic_constraints, "CA:FALSE"));
    assert_int_equal(X509_check_ca(cert), 0);
    // Serial: positive, at most 128 bits, and not short (2^-32 chance).
    std::unique_ptr<BIGNUM, enftun::Free<BN_free>> serial(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    assert_false(BN_is_negative(serial.get()));
    assert_in_range(BN_num_bits(serial.get()), 96, 128);
    int days = 0;
    int secs = 0;
    ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(cert));
    assert_in_range(days * 86400 + secs, -305, -295); // now - 5 min
    assert_in_range(issued->not_after - now, 30 * 86400 - 2, 30 * 86400 + 2);
    assert_true(X509_check_private_key(cert, key.get()) == 1);
}

void test_crl_lists_revoked_serials(void** state) {
    Fixture& f = fx(state);
    auto pem = f.ca->make_crl({"1234ABCD", "FF"});
    assert_true(pem.has_value());
    enftun::tls::BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    std::unique_ptr<X509_CRL, enftun::Free<X509_CRL_free>> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    assert_non_null(crl.get());
    assert_int_equal(X509_CRL_verify(crl.get(), X509_get0_pubkey(f.ca->cert())), 1);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);
    std::unique_ptr<ASN1_INTEGER, enftun::Free<ASN1_INTEGER_free>> ff(ASN1_INTEGER_new());
    ASN1_INTEGER_set(ff.get(), 0xff);
    X509_REVOKED* entry = nullptr;
    assert_int_equal(X509_CRL_get0_by_serial(crl.get(), &entry, ff.get()), 1);
    auto empty = f.ca->make_crl({});
    assert_true(empty.has_value());
}

// What a router whose clock is a little behind the service's makes of a
// fresh CRL (X509_V_FLAG_CRL_CHECK, as router.crl_file installs it): a CRL
// "not yet valid" by its clock would refuse every handshake until its clock
// passed the CRL's lastUpdate, after each confirm, renewal or revoke. The
// CRL is backdated as the certificates are: the live certificate passes,
// the revoked one is refused for being revoked.
int verify_with_crl(const Ca& ca, X509* cert, const std::string& crl_pem, std::time_t at) {
    enftun::tls::BioPtr bio(BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size())));
    std::unique_ptr<X509_CRL, enftun::Free<X509_CRL_free>> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    std::unique_ptr<X509_STORE, enftun::Free<X509_STORE_free>> store(X509_STORE_new());
    std::unique_ptr<X509_STORE_CTX, enftun::Free<X509_STORE_CTX_free>> ctx(X509_STORE_CTX_new());
    if (!crl || !store || !ctx || X509_STORE_add_cert(store.get(), ca.cert()) != 1 ||
        X509_STORE_add_crl(store.get(), crl.get()) != 1 ||
        X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK) != 1 ||
        X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
        return -1;
    }
    X509_STORE_CTX_set_time(ctx.get(), 0, at);
    X509_verify_cert(ctx.get());
    return X509_STORE_CTX_get_error(ctx.get());
}

void test_crl_valid_for_a_clock_behind(void** state) {
    Fixture& f = fx(state);
    auto key = test_csr::make_key("P-256");
    const Ipv6Addr addr = *Ipv6Addr::parse("fd00:e::5");
    auto live = f.ca->issue(key.get(), addr, std::nullopt, 30);
    auto revoked = f.ca->issue(key.get(), addr, std::nullopt, 30);
    assert_true(live.has_value() && revoked.has_value());
    auto crl = f.ca->make_crl({revoked->serial});
    assert_true(crl.has_value());
    const std::time_t behind = std::time(nullptr) - 120; // a router 2 minutes behind
    assert_int_equal(verify_with_crl(*f.ca, live->cert.get(), *crl, behind), X509_V_OK);
    assert_int_equal(verify_with_crl(*f.ca, revoked->cert.get(), *crl, behind),
                     X509_V_ERR_CERT_REVOKED);
}

void test_enroll_renew_revoke(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    auto key = test_csr::make_key("P-256");
    auto request = enftun::keygen::parse_address_request("fd00:e::5").value();
    auto first = registry.enroll("ops", request, std::nullopt, key.get());
    assert_true(first.has_value());
    // Recorded before it was returned.
    auto state1 = load_state(f.cfg.state_file);
    assert_int_equal(state1->entries.size(), 1);
    assert_string_equal(state1->entries[0].serial.c_str(), first->serial.c_str());
    assert_int_equal(registry.enroll("ops", request, std::nullopt, key.get()).error().status, 409);

    auto key2 = test_csr::make_key("P-384");
    auto renewed = registry.renew(first->serial, first->address, std::nullopt, key2.get());
    assert_true(renewed.has_value());
    assert_true(renewed->address == first->address);
    assert_string_not_equal(renewed->serial.c_str(), first->serial.c_str());
    assert_string_equal(load_state(f.cfg.state_file)->entries[1].user.c_str(), "ops");
    // Not one of ours, or naming another address: refused.
    assert_int_equal(registry.renew("ABC", first->address, std::nullopt, key2.get()).error().status,
                     401);
    assert_int_equal(
        registry.renew(first->serial, *Ipv6Addr::parse("fd00:e::6"), std::nullopt, key2.get())
            .error()
            .status,
        403);

    // Past the recorded end (as the state file says): refused, whatever
    // the transport let through.
    auto recorded = load_state(f.cfg.state_file);
    recorded->entries[1].not_after = static_cast<std::int64_t>(std::time(nullptr)) - 1;
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());
    auto expired = registry.renew(renewed->serial, renewed->address, std::nullopt, key2.get());
    assert_int_equal(expired.error().status, 403);
    assert_string_equal(expired.error().message.c_str(), "certificate has expired: enroll again");
    recorded->entries[1].not_after += 3600;
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());

    auto revoked = registry.revoke(first->address);
    assert_true(revoked.has_value());
    assert_int_equal(*revoked, 2);
    auto again = registry.renew(renewed->serial, renewed->address, std::nullopt, key2.get());
    assert_int_equal(again.error().status, 403);
    assert_string_equal(again.error().message.c_str(), "certificate is revoked");
    assert_false(registry.revoke(*Ipv6Addr::parse("fd00:e::77")).has_value());
    // A revoked address is never handed out again.
    assert_int_equal(registry.enroll("ops", request, std::nullopt, key.get()).error().status, 409);
}

std::vector<std::string> ipv4_sans(const std::string& pem) {
    auto cert = enftun::keygen::cert_from_pem(pem);
    std::vector<std::string> out;
    for (const auto& a : enftun::keygen::san_ipv4s(cert->get())) {
        out.push_back(enftun::keygen::format_ipv4(a));
    }
    return out;
}

// IPv4: distinct addresses from the pool, in the certificate and the state
// file; kept on renewal; a renewal naming another IPv4 is refused; taken
// for good after a revoke; refused when no pool is configured.
void test_enroll_with_ipv4(void** state) {
    Fixture& f = fx(state);
    using enftun::keygen::Ipv4Request;
    const enftun::keygen::AddressRequest any{};
    const std::optional<Ipv4Request> auto4 = Ipv4Request{};
    auto key = test_csr::make_key("P-256");
    Registry no_pool(f.cfg, *f.ca);
    auto refused = no_pool.enroll("ops", any, auto4, key.get());
    assert_int_equal(refused.error().status, 403);
    assert_int_equal(load_state(f.cfg.state_file)->entries.size(), 0);

    f.cfg.ipv4_pool = *enftun::keygen::parse_ipv4_prefix("198.18.0.0/30");
    Registry registry(f.cfg, *f.ca);
    auto first = registry.enroll("ops", any, auto4, key.get());
    auto second = registry.enroll("ops", any, auto4, key.get());
    assert_true(first.has_value() && second.has_value());
    assert_string_equal(enftun::keygen::format_ipv4(*first->ipv4).c_str(), "198.18.0.1");
    assert_string_equal(enftun::keygen::format_ipv4(*second->ipv4).c_str(), "198.18.0.2");
    assert_true(ipv4_sans(first->pem) == std::vector<std::string>{"198.18.0.1"});
    auto recorded = load_state(f.cfg.state_file);
    assert_true(recorded->entries[0].ipv4 == first->ipv4);
    assert_int_equal(registry.enroll("ops", any, auto4, key.get()).error().status, 503);
    assert_int_equal(
        registry.enroll("ops", any, Ipv4Request{Ipv4Request::Kind::Exact, *first->ipv4}, key.get())
            .error()
            .status,
        409);
    // Without "ipv4" an enrolment still works with the pool exhausted.
    auto v6_only = registry.enroll("ops", any, std::nullopt, key.get());
    assert_true(v6_only.has_value());
    assert_false(v6_only->ipv4.has_value());
    assert_true(ipv4_sans(v6_only->pem).empty());

    auto renewed = registry.renew(first->serial, first->address, first->ipv4, key.get());
    assert_true(renewed.has_value());
    assert_true(renewed->ipv4 == first->ipv4);
    assert_true(ipv4_sans(renewed->pem) == std::vector<std::string>{"198.18.0.1"});
    auto wrong = registry.renew(renewed->serial, renewed->address, second->ipv4, key.get());
    assert_int_equal(wrong.error().status, 403);
    assert_int_equal(
        registry.renew(renewed->serial, renewed->address, std::nullopt, key.get()).error().status,
        403);
    assert_true(registry.revoke(first->address).has_value());
    assert_int_equal(load_state(f.cfg.state_file)->ipv4_addresses().count(*first->ipv4), 1);
    // Revoked: its IPv4 address, like its IPv6 one, is not handed out again.
    const Ipv4Request same4{Ipv4Request::Kind::Exact, *first->ipv4};
    assert_int_equal(registry.enroll("ops", any, same4, key.get()).error().status, 409);
}

// The serials the CRL file lists, upper-case hex.
std::vector<std::string> crl_serials(const std::string& path) {
    auto text = enftun::keygen::read_file(path, 1 << 20);
    assert_true(text.has_value());
    enftun::tls::BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
    std::unique_ptr<X509_CRL, enftun::Free<X509_CRL_free>> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    assert_non_null(crl.get());
    std::vector<std::string> out;
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
        const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
        out.push_back(enftun::keygen::serial_hex(X509_REVOKED_get0_serialNumber(entry)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Revoking by IPv4 address: the certificates that carry it (a renewal
// included), and only those; the CRL lists their serials; the address
// stays taken; again: nothing more; an IPv4 address never handed out:
// an error naming it.
void test_revoke_by_ipv4(void** state) {
    Fixture& f = fx(state);
    using enftun::keygen::Ipv4Request;
    f.cfg.ipv4_pool = *enftun::keygen::parse_ipv4_prefix("198.18.0.0/29");
    Registry registry(f.cfg, *f.ca);
    const enftun::keygen::AddressRequest any{};
    const std::optional<Ipv4Request> auto4 = Ipv4Request{};
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", any, auto4, key.get());
    auto other = registry.enroll("ops", any, auto4, key.get());
    assert_true(first.has_value() && other.has_value());
    auto renewed = registry.renew(first->serial, first->address, first->ipv4, key.get());
    assert_true(renewed.has_value());

    auto revoked = registry.revoke(*first->ipv4);
    assert_true(revoked.has_value());
    assert_int_equal(*revoked, 2);
    auto after = load_state(f.cfg.state_file);
    assert_true(after->entries[0].revoked && after->entries[2].revoked);
    assert_false(after->entries[1].revoked);
    std::vector<std::string> want{first->serial, renewed->serial};
    std::sort(want.begin(), want.end());
    assert_true(crl_serials(f.cfg.crl_file) == want);
    assert_int_equal(
        registry.renew(renewed->serial, renewed->address, renewed->ipv4, key.get()).error().status,
        403);
    // Taken for good, as a revoked IPv6 address is.
    const Ipv4Request same4{Ipv4Request::Kind::Exact, *first->ipv4};
    assert_int_equal(registry.enroll("ops", any, same4, key.get()).error().status, 409);

    auto again = registry.revoke(*first->ipv4);
    assert_true(again.has_value());
    assert_int_equal(*again, 0);
    auto unknown = registry.revoke(*enftun::keygen::parse_ipv4_addr("198.18.0.6"));
    assert_false(unknown.has_value());
    assert_string_equal(unknown.error().message.c_str(), "198.18.0.6 is not enrolled");
}

// The CRL lists the revoked certificates that have not yet reached their
// recorded end; one past it is left out (RFC 5280 3.3: no verifier accepts
// it anyway), while the state file keeps it, revoked.
void test_crl_leaves_out_expired(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    const enftun::keygen::AddressRequest any{};
    auto key = test_csr::make_key("P-256");
    auto old = registry.enroll("ops", any, std::nullopt, key.get());
    auto live = registry.enroll("ops", any, std::nullopt, key.get());
    assert_true(old.has_value() && live.has_value());
    assert_true(registry.revoke(old->address).has_value());
    assert_true(registry.revoke(live->address).has_value());
    std::vector<std::string> both{old->serial, live->serial};
    std::sort(both.begin(), both.end());
    assert_true(crl_serials(f.cfg.crl_file) == both);

    // Ended a minute ago: still listed (a router whose clock is behind
    // takes it for valid yet).
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto recorded = load_state(f.cfg.state_file);
    recorded->entries[0].not_after = now - 60;
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());
    assert_true(registry.write_crl().has_value());
    assert_true(crl_serials(f.cfg.crl_file) == both);
    // Ended more than a day ago: left out.
    recorded->entries[0].not_after = now - 24 * 60 * 60 - 60;
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());
    assert_true(registry.write_crl().has_value());
    assert_true(crl_serials(f.cfg.crl_file) == std::vector<std::string>{live->serial});
    auto after = load_state(f.cfg.state_file);
    assert_int_equal(after->entries.size(), 2);
    assert_true(after->entries[0].revoked && after->entries[1].revoked);
}

// Only the newest certificate of an address renews. The one it superseded
// may only retry that renewal with the same key, and gets the same
// certificate (the device's answer was lost); any other key gets 403. Once
// the new one has renewed in turn, the old one gets nothing at all.
void test_renewal_supersedes(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    const enftun::keygen::AddressRequest any{};
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", any, std::nullopt, key.get());
    assert_true(first.has_value());
    auto key2 = test_csr::make_key("P-256");
    auto second = registry.renew(first->serial, first->address, std::nullopt, key2.get());
    assert_true(second.has_value());
    auto recorded = load_state(f.cfg.state_file);
    assert_int_equal(recorded->entries.size(), 2);
    assert_string_equal(recorded->entries[1].renewed_from.c_str(), first->serial.c_str());
    assert_string_equal(recorded->entries[1].key_sha256.c_str(),
                        enftun::keygen::public_key_sha256(key2.get()).c_str());

    // The lost answer: the old certificate, the same new key: the same
    // certificate again, nothing new recorded.
    auto again = registry.renew(first->serial, first->address, std::nullopt, key2.get());
    assert_true(again.has_value());
    assert_string_equal(again->serial.c_str(), second->serial.c_str());
    assert_string_equal(again->pem.c_str(), second->pem.c_str());
    assert_int_equal(load_state(f.cfg.state_file)->entries.size(), 2);

    // The kept copy must hold that certificate: another one is never sent.
    const std::string copy = f.cfg.state_file + ".renewals/" + second->serial + ".pem";
    assert_true(enftun::keygen::write_file_atomic(copy, first->pem, 0644).has_value());
    assert_int_equal(
        registry.renew(first->serial, first->address, std::nullopt, key2.get()).error().status,
        500);
    assert_true(enftun::keygen::write_file_atomic(copy, second->pem, 0644).has_value());

    // A copy of the old key, with a key of its own: refused.
    auto thief = test_csr::make_key("P-256");
    auto stolen = registry.renew(first->serial, first->address, std::nullopt, thief.get());
    assert_int_equal(stolen.error().status, 403);
    assert_string_equal(stolen.error().message.c_str(), "certificate was superseded by a renewal");
    assert_int_equal(load_state(f.cfg.state_file)->entries.size(), 2);

    // The newest renews; then the first gets nothing, not even a retry.
    auto key3 = test_csr::make_key("P-256");
    auto third = registry.renew(second->serial, second->address, std::nullopt, key3.get());
    assert_true(third.has_value());
    // One kept copy per address: the newest renewal's.
    assert_int_equal(::access(copy.c_str(), F_OK), -1);
    assert_int_equal(
        ::access((f.cfg.state_file + ".renewals/" + third->serial + ".pem").c_str(), F_OK), 0);
    assert_int_equal(
        registry.renew(first->serial, first->address, std::nullopt, key2.get()).error().status,
        403);
    assert_int_equal(
        registry.renew(second->serial, second->address, std::nullopt, thief.get()).error().status,
        403);
    auto retry3 = registry.renew(second->serial, second->address, std::nullopt, key3.get());
    assert_true(retry3.has_value());
    assert_string_equal(retry3->serial.c_str(), third->serial.c_str());
}

// A confirm by the newest certificate retires the address's older ones:
// revoked in the state file and on the CRL, the address still the
// device's, the kept renewal copy gone, so the one before can no longer
// retry. Only the newest may confirm; again: nothing more. A renewal from
// the newest retires the same ones (a lost confirm made up).
void test_confirm_retires_older(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", enftun::keygen::AddressRequest{}, std::nullopt, key.get());
    assert_true(first.has_value());
    auto key2 = test_csr::make_key("P-256");
    auto second = registry.renew(first->serial, first->address, std::nullopt, key2.get());
    assert_true(second.has_value());
    // Nothing retired yet (the first was the newest): no CRL written.
    assert_int_equal(::access(f.cfg.crl_file.c_str(), F_OK), -1);
    const std::string copy = f.cfg.state_file + ".renewals/" + second->serial + ".pem";
    assert_int_equal(::access(copy.c_str(), F_OK), 0);

    auto by_old = registry.confirm(first->serial, first->address, std::nullopt);
    assert_int_equal(by_old.error().status, 403);
    assert_string_equal(by_old.error().message.c_str(), "certificate was superseded by a renewal");
    assert_int_equal(registry.confirm("ABC", first->address, std::nullopt).error().status, 401);
    assert_int_equal(registry.confirm(second->serial, *Ipv6Addr::parse("fd00:e::77"), std::nullopt)
                         .error()
                         .status,
                     403);
    assert_false(load_state(f.cfg.state_file)->entries[0].revoked);

    auto confirmed = registry.confirm(second->serial, second->address, std::nullopt);
    assert_true(confirmed.has_value());
    assert_int_equal(*confirmed, 1);
    auto after = load_state(f.cfg.state_file);
    assert_true(after->entries[0].revoked);
    assert_false(after->entries[1].revoked);
    assert_int_equal(after->active_addresses_of("ops", std::time(nullptr)), 1);
    assert_true(crl_serials(f.cfg.crl_file) == std::vector<std::string>{first->serial});
    assert_int_equal(::access(copy.c_str(), F_OK), -1);
    auto retry = registry.renew(first->serial, first->address, std::nullopt, key2.get());
    assert_string_equal(retry.error().message.c_str(), "certificate is revoked");
    auto again = registry.confirm(second->serial, second->address, std::nullopt);
    assert_true(again.has_value());
    assert_int_equal(*again, 0);

    // No confirm for the third: the fourth's renewal retires it.
    auto third = registry.renew(second->serial, second->address, std::nullopt, key.get());
    assert_true(third.has_value());
    assert_false(load_state(f.cfg.state_file)->entries[1].revoked);
    auto fourth = registry.renew(third->serial, third->address, std::nullopt, key2.get());
    assert_true(fourth.has_value());
    after = load_state(f.cfg.state_file);
    assert_true(after->entries[1].revoked);
    assert_false(after->entries[2].revoked || after->entries[3].revoked);
    std::vector<std::string> want{first->serial, second->serial};
    std::sort(want.begin(), want.end());
    assert_true(crl_serials(f.cfg.crl_file) == want);
    // The third may still retry the fourth's renewal (its answer lost).
    auto retry4 = registry.renew(third->serial, third->address, std::nullopt, key2.get());
    assert_true(retry4.has_value());
    assert_string_equal(retry4->serial.c_str(), fourth->serial.c_str());
}

// A confirm that retires nothing (a device may repeat it at will) does not
// make the service sign and write the CRL; one whose CRL write failed
// (500) does, when repeated, though it retires nothing new.
void test_confirm_of_nothing_leaves_the_crl(void** state) {
    Fixture& f = fx(state);
    const std::string sub = f.dir + "/later";
    f.cfg.crl_file = sub + "/crl.pem"; // a folder that does not exist yet
    Registry registry(f.cfg, *f.ca);
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", enftun::keygen::AddressRequest{}, std::nullopt, key.get());
    assert_true(first.has_value());
    auto alone = registry.confirm(first->serial, first->address, std::nullopt);
    assert_true(alone.has_value());
    assert_int_equal(*alone, 0);
    assert_int_equal(::mkdir(sub.c_str(), 0755), 0);
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(*registry.confirm(first->serial, first->address, std::nullopt), 0);
    }
    assert_int_equal(::access(f.cfg.crl_file.c_str(), F_OK), -1); // never written
    assert_int_equal(::rmdir(sub.c_str()), 0);

    auto second = registry.renew(first->serial, first->address, std::nullopt, key.get());
    assert_true(second.has_value());
    auto failed = registry.confirm(second->serial, second->address, std::nullopt);
    assert_int_equal(failed.error().status, 500); // retired in the state, no CRL
    assert_int_equal(::mkdir(sub.c_str(), 0755), 0);
    auto repeated = registry.confirm(second->serial, second->address, std::nullopt);
    assert_int_equal(*repeated, 0);
    assert_true(crl_serials(f.cfg.crl_file) == std::vector<std::string>{first->serial});
    struct stat before {};
    assert_int_equal(::stat(f.cfg.crl_file.c_str(), &before), 0);
    assert_int_equal(*registry.confirm(second->serial, second->address, std::nullopt), 0);
    struct stat after {};
    assert_int_equal(::stat(f.cfg.crl_file.c_str(), &after), 0);
    assert_int_equal(after.st_ino, before.st_ino); // not replaced
}

// crlNumber grows strictly (RFC 5280 5.2.3), also for CRLs within one
// second, and from the CRL in place: one numbered ahead of the clock (a
// clock set back, another writer) is followed by its number + 1.
void test_crl_number_strictly_increasing(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    std::uint64_t last = 0;
    for (int i = 0; i < 3; ++i) {
        assert_true(registry.write_crl().has_value());
        const std::uint64_t number = read_crl_number(f.cfg.crl_file);
        assert_true(number > last);
        last = number;
    }
    const auto ahead = static_cast<std::uint64_t>(std::time(nullptr)) + 1000;
    auto crl = f.ca->make_crl({}, ahead);
    assert_true(crl.has_value());
    assert_true(enftun::keygen::write_file_atomic(f.cfg.crl_file, *crl, 0644).has_value());
    assert_int_equal(read_crl_number(f.cfg.crl_file), ahead + 1);
    assert_true(registry.write_crl().has_value());
    assert_int_equal(read_crl_number(f.cfg.crl_file), ahead + 2);
    assert_int_equal(read_crl_number(f.dir + "/none.pem"), 0);
}

// A state file from before renewals were linked (no from=/key=): its
// newest line renews; an older one is superseded, with no retry.
void test_renewal_with_old_state_file(void** state) {
    Fixture& f = fx(state);
    Registry registry(f.cfg, *f.ca);
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", enftun::keygen::AddressRequest{}, std::nullopt, key.get());
    assert_true(first.has_value());
    auto recorded = load_state(f.cfg.state_file);
    Enrolment old_renewal = recorded->entries[0];
    old_renewal.serial = "ABCDEF";
    recorded->entries.push_back(old_renewal);
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());
    auto refused = registry.renew(first->serial, first->address, std::nullopt, key.get());
    assert_int_equal(refused.error().status, 403);
    assert_true(registry.renew("ABCDEF", first->address, std::nullopt, key.get()).has_value());
}

// enroll.max_active_per_user: a user's live addresses are bounded (403,
// nothing recorded), another user is not affected, renewals do not count
// (and still work at the limit), and a revoked or expired certificate
// frees its place.
void test_active_certificates_per_user(void** state) {
    Fixture& f = fx(state);
    f.cfg.max_active_per_user = 2;
    Registry registry(f.cfg, *f.ca);
    const enftun::keygen::AddressRequest any{};
    auto key = test_csr::make_key("P-256");
    auto first = registry.enroll("ops", any, std::nullopt, key.get());
    auto second = registry.enroll("ops", any, std::nullopt, key.get());
    assert_true(first.has_value() && second.has_value());
    auto renewed = registry.renew(first->serial, first->address, std::nullopt, key.get());
    assert_true(renewed.has_value()); // at the limit, a renewal still works
    auto refused = registry.enroll("ops", any, std::nullopt, key.get());
    assert_int_equal(refused.error().status, 403);
    assert_string_equal(refused.error().message.c_str(),
                        "user ops holds live certificates for 2 addresses, the most "
                        "enroll.max_active_per_user allows: revoke unused ones, or raise the "
                        "limit");
    assert_int_equal(load_state(f.cfg.state_file)->entries.size(), 3);
    assert_true(registry.enroll("other", any, std::nullopt, key.get()).has_value());
    // A revoked address frees its place.
    assert_true(registry.revoke(second->address).has_value());
    auto third = registry.enroll("ops", any, std::nullopt, key.get());
    assert_true(third.has_value());
    assert_int_equal(registry.enroll("ops", any, std::nullopt, key.get()).error().status, 403);
    // So does an expired one (as the state file says), however renewed.
    auto recorded = load_state(f.cfg.state_file);
    for (auto& e : recorded->entries) {
        if (e.address == first->address) {
            e.not_after = static_cast<std::int64_t>(std::time(nullptr)) - 1;
        }
    }
    assert_true(save_state(f.cfg.state_file, *recorded).has_value());
    assert_true(registry.enroll("ops", any, std::nullopt, key.get()).has_value());
    // 0: no limit.
    f.cfg.max_active_per_user = 0;
    assert_true(registry.enroll("ops", any, std::nullopt, key.get()).has_value());
}

void test_corrupt_state_is_500_and_unchanged(void** state) {
    Fixture& f = fx(state);
    (void)enftun::keygen::write_file_atomic(f.cfg.state_file, "garbage", 0600);
    Registry registry(f.cfg, *f.ca);
    auto key = test_csr::make_key("P-256");
    auto r = registry.enroll("ops", enftun::keygen::AddressRequest{}, std::nullopt, key.get());
    assert_int_equal(r.error().status, 500);
    auto text = enftun::keygen::read_file(f.cfg.state_file, 100);
    assert_string_equal(text->c_str(), "garbage");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issued_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_lists_revoked_serials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_valid_for_a_clock_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_renew_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_by_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_leaves_out_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_with_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal_supersedes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal_with_old_state_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_retires_older, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_of_nothing_leaves_the_crl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_number_strictly_increasing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_certificates_per_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_state_is_500_and_unchanged, setup, teardown),
    };
    return cmocka_run_group_tests_name("enroll_registry", tests, nullptr, nullptr);
}
