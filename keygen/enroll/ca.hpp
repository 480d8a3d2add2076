// The device CA: its certificate and key (loaded once at start; the key
// never leaves this object and is never logged), issuing device
// certificates and signing the CRL.
//
// Device certificate (notes/enroll-api.md): subject CN = the address,
// subjectAltName IP = the address (and IP = its IPv4 address when it has
// one, common/ipv4.hpp), EKU clientAuth, keyUsage
// digitalSignature (critical), basicConstraints CA:FALSE (critical), a
// random positive 128-bit serial, notBefore = now - 5 min (clock skew),
// notAfter = now + days, subject/authority key identifiers.
#pragma once

#include "common/failure.hpp"
#include "common/pem.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace enftun::enroll {

struct Issued {
    tls::X509Ptr cert;
    std::string serial; // upper-case hex
    std::int64_t not_after = 0;
};

class Ca {
public:
    // Errors: unreadable or unparsable files, a key that does not match the
    // certificate, a certificate that is not a CA (basicConstraints).
    static keygen::Outcome<Ca> load(const std::string& cert_file, const std::string& key_file);

    X509* cert() const { return cert_.get(); }
    std::string cert_pem() const { return keygen::cert_to_pem(cert_.get()); }

    // A certificate for subject_key naming addr (and ipv4, when given).
    // Errors: OpenSSL failures.
    keygen::Outcome<Issued> issue(EVP_PKEY* subject_key, const proto::Ipv6Addr& addr,
                                  const std::optional<proto::Ipv4Addr>& ipv4,
                                  std::uint32_t days) const;

    // A CRL (PEM) listing revoked_serials (upper-case hex), signed now,
    // its lastUpdate 5 minutes back (clocks a little behind, as for the
    // certificates); nextUpdate is far ahead (kCrlValidDays): the service rewrites the CRL
    // on every revoke and every start, and the router must not start
    // refusing every client because the service was down for a while.
    // Its crlNumber is the signing time in seconds, or last_number + 1 when
    // that is not greater (two CRLs in one second): strictly increasing, as
    // RFC 5280 (section 5.2.3) asks, given the number of the CRL before.
    keygen::Outcome<std::string> make_crl(const std::vector<std::string>& revoked_serials,
                                          std::uint64_t last_number = 0) const;

    static constexpr long kCrlValidDays = 3650;

private:
    Ca(tls::X509Ptr cert, tls::PkeyPtr key) : cert_(std::move(cert)), key_(std::move(key)) {}
    tls::X509Ptr cert_;
    tls::PkeyPtr key_;
};

// The crlNumber of the CRL (PEM) in file; 0 when there is none, or it does
// not read or carry one (a lost or damaged CRL: the time then leads).
std::uint64_t read_crl_number(const std::string& file);

// Whether cert was issued by ca and its signature verifies with ca's key.
bool issued_by(X509* cert, X509* ca);

} // namespace enftun::enroll
