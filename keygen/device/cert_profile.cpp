#include "cert_profile.hpp"

#include "common/ipv4.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <string>

namespace enftun::keygen {

namespace {

using BnPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;

constexpr long kBackdateSeconds = 5 * 60; // clocks a little behind still accept it
constexpr long kSecondsPerDay = 24 * 60 * 60;
constexpr int kSerialBytes = 16;

bool add_ext(X509* cert, X509* ca, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool set_random_serial(X509* cert) {
    unsigned char bytes[kSerialBytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return false;
    }
    bytes[0] &= 0x7f; // positive (RFC 5280 section 4.1.2.2)
    bytes[0] |= 0x40; // and a full 16 bytes long
    BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

} // namespace

Outcome<tls::X509Ptr> sign_device_cert(EVP_PKEY* device_key, X509* ca_cert, EVP_PKEY* ca_key,
                                       const proto::Ipv6Addr& addr,
                                       const std::optional<proto::Ipv4Addr>& ipv4, long days) {
    ERR_clear_error();
    if (X509_check_private_key(ca_cert, ca_key) != 1) {
        ERR_clear_error();
        return Failure{"the CA key does not match the CA certificate"};
    }
    const std::string text = addr.to_string();
    tls::X509Ptr cert(X509_new());
    X509_NAME* name = cert ? X509_get_subject_name(cert.get()) : nullptr;
    const bool ok =
        name != nullptr && X509_set_version(cert.get(), 2) == 1 && set_random_serial(cert.get()) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(text.c_str()), -1, -1,
                                   0) == 1 &&
        X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)) == 1 &&
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) != nullptr &&
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * kSecondsPerDay) != nullptr &&
        X509_set_pubkey(cert.get(), device_key) == 1 &&
        add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
        add_ext(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature") &&
        add_ext(cert.get(), ca_cert, NID_ext_key_usage, "clientAuth") &&
        add_ext(cert.get(), ca_cert, NID_subject_alt_name, device_san(addr, ipv4).c_str()) &&
        add_ext(cert.get(), ca_cert, NID_subject_key_identifier, "hash") &&
        add_ext(cert.get(), ca_cert, NID_authority_key_identifier, "keyid") &&
        X509_sign(cert.get(), ca_key, EVP_sha256()) > 0;
    if (!ok) {
        return Failure{"cannot sign the certificate: " + tls::drain_errors()};
    }
    return cert;
}

} // namespace enftun::keygen
