#include "common/csr.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>

namespace enftun::keygen {

namespace {

// A CSR with an RSA-16384 key is about 5 KiB of PEM; the request body limit
// (64 KiB) bounds it anyway, this keeps the parser's work small.
constexpr std::size_t kMaxCsrPem = 16384;

bool ec_curve_allowed(EVP_PKEY* key) {
    char curve[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                       &len) != 1) {
        return false;
    }
    return std::strcmp(curve, "prime256v1") == 0 || std::strcmp(curve, "secp384r1") == 0;
}

} // namespace

Outcome<void> check_key_policy(EVP_PKEY* key) {
    bool ok = false;
    if (EVP_PKEY_is_a(key, "EC")) {
        ok = ec_curve_allowed(key);
    } else if (EVP_PKEY_is_a(key, "ED25519")) {
        ok = true;
    } else if (EVP_PKEY_is_a(key, "RSA")) {
        ok = EVP_PKEY_get_bits(key) >= 2048;
    }
    ERR_clear_error();
    if (!ok) {
        return Failure{kKeyPolicy};
    }
    return {};
}

Outcome<CheckedCsr> parse_csr(std::string_view pem) {
    if (pem.size() > kMaxCsrPem) {
        return Failure{"csr: longer than " + std::to_string(kMaxCsrPem) + " bytes"};
    }
    ERR_clear_error();
    tls::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!req) {
        return Failure{"csr: not a PEM certificate request"};
    }
    // X509_REQ_get_pubkey returns a new reference (get0 would borrow).
    tls::PkeyPtr key(X509_REQ_get_pubkey(req.get()));
    if (!key) {
        ERR_clear_error();
        return Failure{"csr: the request's public key cannot be read"};
    }
    // Policy first: an RSA-512 request is refused as a weak key even when
    // its signature verifies.
    if (auto ok = check_key_policy(key.get()); !ok) {
        return Failure{"csr: " + ok.error().message};
    }
    const int verified = X509_REQ_verify(req.get(), key.get());
    ERR_clear_error();
    if (verified != 1) {
        return Failure{"csr: its self-signature does not verify"};
    }
    return CheckedCsr{std::move(req), std::move(key)};
}

} // namespace enftun::keygen
