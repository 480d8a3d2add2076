// Identity: the tunnel address carried by an X.509 certificate.
// PROTOCOL.md: the client's IPv6 address is the certificate's Common Name in
// text form; a subjectAltName IPv6 entry, when present, must agree with it.
// A certificate may also bind the client to one IPv4 address: a
// subjectAltName iPAddress entry of 4 octets (inner IPv4, README).
#pragma once

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <openssl/x509.h>

#include <optional>
#include <string>

namespace enftun::tls {

// Errors: Identity (no CN, CN not an IPv6 address, or a SAN IPv6 that
// differs, or a SAN IP that is neither 4 nor 16 octets).
Result<proto::Ipv6Addr> address_from_cert(X509* cert);

// The certificate's IPv4 address (its one 4-octet subjectAltName IP entry);
// nullopt when it has none (certificates of the original enftun).
// Errors: Identity (more than one IPv4 entry, or one that is not unicast
// and routable: proto::is_routable_unicast).
Result<std::optional<proto::Ipv4Addr>> ipv4_from_cert(X509* cert);

// Loads a PEM certificate and reads its address; for the client at startup.
// Errors: Identity (unreadable file, not a certificate, bad CN).
Result<proto::Ipv6Addr> address_from_cert_file(const std::string& path);
// Its IPv4 address (ipv4_from_cert) likewise. Errors: Identity.
Result<std::optional<proto::Ipv4Addr>> ipv4_from_cert_file(const std::string& path);

// Writes "ADDR\n" to path atomically (fs::write_file_atomically: a mkstemp
// file in the same folder, mode 0644, fsync, rename over path). Errors:
// System, with the errno of the failing step.
Status write_ip_file(const std::string& path, const proto::Ipv6Addr& addr);

} // namespace enftun::tls
