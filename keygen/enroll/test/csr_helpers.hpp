// Test helpers: fresh keys and CSRs made with OpenSSL's API, as PEM text.
#pragma once

#include "enftun/tls/ssl_ptr.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace test_csr {

inline enftun::tls::PkeyPtr make_key(const char* kind) {
    if (std::string(kind) == "rsa1024") {
        return enftun::tls::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
    }
    if (std::string(kind) == "rsa2048") {
        return enftun::tls::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    }
    if (std::string(kind) == "ed25519") {
        return enftun::tls::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    }
    return enftun::tls::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind));
}

// A CSR for key, signed by signer (normally the same key).
inline std::string csr_pem(EVP_PKEY* key, EVP_PKEY* signer) {
    std::unique_ptr<X509_REQ, enftun::Free<X509_REQ_free>> req(X509_REQ_new());
    X509_REQ_set_pubkey(req.get(), key);
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("ignored"), -1, -1, 0);
    const EVP_MD* md = EVP_PKEY_is_a(signer, "ED25519") ? nullptr : EVP_sha256();
    X509_REQ_sign(req.get(), signer, md);
    enftun::tls::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

inline std::string csr_for(const char* kind) {
    auto key = make_key(kind);
    return csr_pem(key.get(), key.get());
}

} // namespace test_csr
