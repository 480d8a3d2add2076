// The device's key material: a fresh EC P-256 key, its certificate signing
// request, its PEM text, and certificate bundles (a CA file may hold
// several); single certificates and keys load through common/pem.hpp. Private keys only ever go to
// a file (SecretPem wipes its buffer); nothing here prints or logs key material.
#pragma once

#include "common/failure.hpp"
#include "common/pem.hpp"

#include "enftun/tls/ssl_ptr.hpp"

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace enftun::keygen {

// PEM text of a private key in memory, wiped (OPENSSL_cleanse) on destruction.
class SecretPem {
public:
    explicit SecretPem(std::string text) : text_(std::move(text)) {}
    SecretPem(SecretPem&& o) noexcept : text_(std::move(o.text_)) { o.text_.clear(); }
    SecretPem(const SecretPem&) = delete;
    SecretPem& operator=(const SecretPem&) = delete;
    ~SecretPem();
    const std::string& text() const { return text_; }

private:
    std::string text_;
};

// A fresh EC P-256 key from OpenSSL's CSPRNG. Errors: the OpenSSL reason.
Outcome<tls::PkeyPtr> make_device_key();

// A PKCS#10 request signed by key (SHA-256). Its subject is the
// address or "enftun device": the service ignores it and sets its own.
Outcome<std::string> make_csr_pem(EVP_PKEY* key, const std::string& subject_cn);

// The key as unencrypted PKCS#8 PEM, for the key file only.
Outcome<SecretPem> private_key_pem(EVP_PKEY* key);

// The public half of key alone, in the default library context (what the
// reply's checks need once a TPM key is no longer loaded). Errors: OpenSSL.
Outcome<tls::PkeyPtr> public_key_of(EVP_PKEY* key);

// Every certificate in PEM text (at least one), in order. Errors: no
// certificate, or one that does not parse.
Outcome<std::vector<tls::X509Ptr>> parse_certs_pem(const std::string& pem);
// The same from a file. Errors: unreadable file (strerror), as above.
Outcome<std::vector<tls::X509Ptr>> load_certs_file(const std::string& path);

// "2027-12-06 11:43:48 UTC"
std::string format_time(const ASN1_TIME* t);

} // namespace enftun::keygen
