// CertFactory: issues client certificates for the router load generator.
// Signing 10,000 certificates with the openssl CLI takes minutes; in-process
// it takes well under a second. Every certificate carries the same fresh
// EC P-256 key (the router checks the chain and the CN, never key reuse) and
// CN = the client's tunnel address, as PROTOCOL.md "Identity" requires;
// extensions match scripts/gen-test-certs (clientAuth, digitalSignature).
//
// Lifetime: owns the CA certificate and key it loaded and the shared client
// key; issued certificates are independent objects.
#pragma once

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"

#include <string>

namespace enftun::bench {

class CertFactory {
public:
    // Loads the CA (PEM certificate and key) and makes the client key.
    // Errors: Identity (unreadable or mismatched CA files), Tls (key generation).
    static Result<CertFactory> create(const std::string& ca_cert_file,
                                      const std::string& ca_key_file);

    // A certificate for addr, valid for a day, signed by the CA.
    // Errors: Tls (building or signing failed; the queue was logged).
    Result<tls::X509Ptr> issue(const proto::Ipv6Addr& addr, long serial) const;

    EVP_PKEY* client_key() const { return key_.get(); }

private:
    CertFactory(tls::X509Ptr ca_cert, tls::PkeyPtr ca_key, tls::PkeyPtr key)
        : ca_cert_(std::move(ca_cert)), ca_key_(std::move(ca_key)), key_(std::move(key)) {}

    tls::X509Ptr ca_cert_;
    tls::PkeyPtr ca_key_;
    tls::PkeyPtr key_;
};

} // namespace enftun::bench
