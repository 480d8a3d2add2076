// The device certificate profile, for offline signing (--ca-cert/--ca-key):
// the same as enftun-enroll issues (/work/notes/enroll-api.md): subject
// CN = address (RFC 5952 text), subjectAltName IP = address (and IP =
// the IPv4 address when given, common/ipv4.hpp), EKU
// clientAuth, keyUsage digitalSignature (critical), basicConstraints
// CA:FALSE, a random positive 128-bit serial, notBefore = now - 5 min,
// notAfter = now + days, issuer = the CA's subject, signed with SHA-256.
#pragma once

#include "common/failure.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/ssl_ptr.hpp"

#include <optional>

namespace enftun::keygen {

// Errors: the CA key does not match the CA certificate; OpenSSL failures.
Outcome<tls::X509Ptr> sign_device_cert(EVP_PKEY* device_key, X509* ca_cert, EVP_PKEY* ca_key,
                                       const proto::Ipv6Addr& addr,
                                       const std::optional<proto::Ipv4Addr>& ipv4, long days);

} // namespace enftun::keygen
