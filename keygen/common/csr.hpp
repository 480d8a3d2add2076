// Certificate signing requests: PEM text in, a request whose self-signature
// verifies and whose key the policy allows out. The CSR's subject and
// extensions are never used: the service decides what the certificate says.
// Pure OpenSSL, no I/O: fuzzed through enroll/request.hpp.
#pragma once

#include "common/failure.hpp"
#include "common/pem.hpp"

#include <string_view>

namespace enftun::keygen {

// What a device may use as its key (keys the router's TLS and the client
// can use, and that are strong enough).
inline constexpr const char* kKeyPolicy = "key must be EC P-256/P-384, Ed25519 or RSA >= 2048 bits";

struct CheckedCsr {
    X509ReqPtr req;
    tls::PkeyPtr key; // the public key, for the certificate
};

// Errors (a one-line reason for a 400): not exactly one PEM CERTIFICATE
// REQUEST ("csr: not a PEM certificate request"), a self-signature that does
// not verify, a key kKeyPolicy forbids.
Outcome<CheckedCsr> parse_csr(std::string_view pem);

// Errors: kKeyPolicy when the key is of another type or size.
Outcome<void> check_key_policy(EVP_PKEY* key);

} // namespace enftun::keygen
