#include "enroll/ca.hpp"

#include "common/ipv4.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace enftun::enroll {

namespace {

using BnPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME_free>>;

constexpr long kBackdateSeconds = 5 * 60;
constexpr long kSecondsPerDay = 86400;

keygen::Failure ssl_failure(const std::string& what) {
    const std::string why = tls::drain_errors();
    return keygen::Failure{why.empty() ? what : what + ": " + why};
}

// Ed25519/Ed448 sign without a separate digest; everything else with SHA-256.
const EVP_MD* digest_for(EVP_PKEY* key) {
    return EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? nullptr : EVP_sha256();
}

// 128 random bits as an unsigned number: positive, at most 17 octets in DER
// (RFC 5280 section 4.1.2.2 allows 20), unguessable (CA/B BR: >= 64 bits).
Asn1IntPtr random_serial() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return nullptr;
    }
    BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    return Asn1IntPtr(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
}

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool set_subject_cn(X509* cert, const std::string& cn) {
    X509_NAME* name = X509_get_subject_name(cert);
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                      reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                      0) == 1;
}

} // namespace

bool issued_by(X509* cert, X509* ca) {
    EVP_PKEY* ca_key = X509_get0_pubkey(ca);
    const bool ok = ca_key != nullptr && X509_check_issued(ca, cert) == X509_V_OK &&
                    X509_verify(cert, ca_key) == 1;
    ERR_clear_error();
    return ok;
}

keygen::Outcome<Ca> Ca::load(const std::string& cert_file, const std::string& key_file) {
    auto cert = keygen::load_cert_file(cert_file);
    if (!cert) {
        return cert.error();
    }
    auto key = keygen::load_key_file(key_file);
    if (!key) {
        return key.error();
    }
    ERR_clear_error();
    if (X509_check_private_key(cert->get(), key->get()) != 1) {
        return ssl_failure(key_file + " does not match " + cert_file);
    }
    if (X509_check_ca(cert->get()) == 0) {
        return keygen::Failure{cert_file + " is not a CA certificate (basicConstraints)"};
    }
    return Ca(std::move(cert).value(), std::move(key).value());
}

keygen::Outcome<Issued> Ca::issue(EVP_PKEY* subject_key, const proto::Ipv6Addr& addr,
                                  const std::optional<proto::Ipv4Addr>& ipv4,
                                  std::uint32_t days) const {
    ERR_clear_error();
    tls::X509Ptr cert(X509_new());
    Asn1IntPtr serial = random_serial();
    const std::string text = addr.to_string();
    std::time_t now = std::time(nullptr);
    const std::int64_t not_after = now + static_cast<std::int64_t>(days) * kSecondsPerDay;
    if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
        X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1 ||
        !set_subject_cn(cert.get(), text) || X509_set_pubkey(cert.get(), subject_key) != 1 ||
        X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -kBackdateSeconds, &now) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, &now) ==
            nullptr) {
        return ssl_failure("cannot build the certificate");
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert_.get(), cert.get(), nullptr, nullptr, 0);
    if (!add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature") ||
        !add_ext(cert.get(), &ctx, NID_ext_key_usage, "clientAuth") ||
        !add_ext(cert.get(), &ctx, NID_subject_alt_name, keygen::device_san(addr, ipv4)) ||
        !add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
        !add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always")) {
        return ssl_failure("cannot add the certificate's extensions");
    }
    if (X509_sign(cert.get(), key_.get(), digest_for(key_.get())) <= 0) {
        return ssl_failure("cannot sign the certificate");
    }
    return Issued{std::move(cert), keygen::serial_hex(serial.get()), not_after};
}

keygen::Outcome<std::string> Ca::make_crl(const std::vector<std::string>& revoked_serials,
                                          std::uint64_t last_number) const {
    using CrlPtr = keygen::X509CrlPtr;
    using RevokedPtr = std::unique_ptr<X509_REVOKED, Free<X509_REVOKED_free>>;
    ERR_clear_error();
    CrlPtr crl(X509_CRL_new());
    std::time_t now = std::time(nullptr);
    // Backdated as the certificates are: a router whose clock is a little
    // behind ours would find a CRL signed "now" not yet valid, and with
    // X509_V_FLAG_CRL_CHECK refuse every handshake until its clock passed
    // it, after each revoke, confirm or renewal.
    Asn1TimePtr last(X509_time_adj_ex(nullptr, 0, -kBackdateSeconds, &now));
    Asn1TimePtr next(X509_time_adj_ex(nullptr, kCrlValidDays, 0, &now));
    if (!crl || !last || !next || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert_.get())) != 1 ||
        X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
        X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
        return ssl_failure("cannot build the CRL");
    }
    for (const auto& hex : revoked_serials) {
        BIGNUM* raw = nullptr;
        if (BN_hex2bn(&raw, hex.c_str()) == 0) {
            return keygen::Failure{"state holds a bad serial: " + hex};
        }
        BnPtr bn(raw);
        Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
        RevokedPtr entry(X509_REVOKED_new());
        if (!serial || !entry || X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
            X509_REVOKED_set_revocationDate(entry.get(), last.get()) != 1 ||
            X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
            return ssl_failure("cannot add a serial to the CRL");
        }
        entry.release(); // the CRL owns it now
    }
    // crlNumber (RFC 5280 section 5.2.3, required, strictly increasing):
    // the signing time in seconds, unless the CRL before got that (or a
    // later one: a clock set back) already.
    const auto seconds = static_cast<std::uint64_t>(now);
    const std::uint64_t number_value = seconds > last_number ? seconds : last_number + 1;
    BnPtr number(BN_new());
    Asn1IntPtr number_asn1;
    if (number && BN_set_word(number.get(), static_cast<BN_ULONG>(number_value)) == 1) {
        number_asn1.reset(BN_to_ASN1_INTEGER(number.get(), nullptr));
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert_.get(), nullptr, nullptr, crl.get(), 0);
    using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
    ExtPtr akid(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
    if (!number_asn1 ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number_asn1.get(), 0, 0) != 1 || !akid ||
        X509_CRL_add_ext(crl.get(), akid.get(), -1) != 1) {
        return ssl_failure("cannot add the CRL's extensions");
    }
    X509_CRL_sort(crl.get());
    if (X509_CRL_sign(crl.get(), key_.get(), digest_for(key_.get())) <= 0) {
        return ssl_failure("cannot sign the CRL");
    }
    return keygen::crl_to_pem(crl.get());
}

std::uint64_t read_crl_number(const std::string& file) {
    tls::BioPtr bio(BIO_new_file(file.c_str(), "r"));
    keygen::X509CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                               : nullptr);
    Asn1IntPtr number(crl ? static_cast<ASN1_INTEGER*>(
                                X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr))
                          : nullptr);
    std::uint64_t value = 0;
    if (!number || ASN1_INTEGER_get_uint64(&value, number.get()) != 1) {
        value = 0;
    }
    ERR_clear_error(); // a missing file is no error here
    return value;
}

} // namespace enftun::enroll
