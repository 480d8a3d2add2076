// Identity: the tunnel address carried by an X.509 certificate.
// PROTOCOL.md: the client's IPv6 address is the certificate's Common Name in
// text form; a subjectAltName IP entry, when present, must agree with it.
#pragma once

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <openssl/x509.h>

#include <string>

namespace enftun::tls {

// Errors: Identity (no CN, CN not an IPv6 address, or a SAN IP that differs).
Result<proto::Ipv6Addr> address_from_cert(X509* cert);

// Loads a PEM certificate and reads its address; for the client at startup.
// Errors: Identity (unreadable file, not a certificate, bad CN).
Result<proto::Ipv6Addr> address_from_cert_file(const std::string& path);

// Writes "ADDR\n" to path atomically (fs::write_file_atomically: a mkstemp
// file in the same folder, mode 0644, fsync, rename over path). Errors:
// System, with the errno of the failing step.
Status write_ip_file(const std::string& path, const proto::Ipv6Addr& addr);

} // namespace enftun::tls
