// PEM and X.509 helpers shared by enftun-enroll and enftun-keygen: loading
// certificates, keys and requests from files or memory, writing them as
// PEM text, and reading a certificate's serial and its subjectAltName IP
// addresses. Every failure carries OpenSSL's error queue as one line.
#pragma once

#include "common/failure.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/ssl_ptr.hpp"

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::keygen {

using X509ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;

// The first certificate in PEM text. Errors: no PEM certificate in it.
Outcome<tls::X509Ptr> cert_from_pem(std::string_view pem);
// The first certificate in the file. Errors: unreadable file, no certificate.
Outcome<tls::X509Ptr> load_cert_file(const std::string& path);
// A private key (PEM, unencrypted). Errors: unreadable file, no key.
Outcome<tls::PkeyPtr> load_key_file(const std::string& path);

std::string cert_to_pem(X509* cert);
std::string crl_to_pem(X509_CRL* crl);

// The serial number in upper-case hex without leading zeros, as BN_bn2hex
// writes it ("0" for zero): the form the state file and `list` use.
std::string serial_hex(const ASN1_INTEGER* serial);

// Lower-case hex SHA-256 of key's public half (DER SubjectPublicKeyInfo):
// what names a key in the state file. "" when it cannot be encoded.
std::string public_key_sha256(EVP_PKEY* key);

// The first IP address in the certificate's subjectAltName that is IPv6.
std::optional<proto::Ipv6Addr> san_ipv6(X509* cert);

// Every IPv4 address (4-octet iPAddress entry) in the subjectAltName, in
// order: a device certificate has none or one (common/ipv4.hpp).
std::vector<proto::Ipv4Addr> san_ipv4s(X509* cert);

} // namespace enftun::keygen
