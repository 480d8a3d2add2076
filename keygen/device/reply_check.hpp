// Checks of what the enrollment service sent back, before anything is
// written: the certificate must
//  - be a certificate for the key made on this device;
//  - carry one address, CN = subjectAltName IP (tls::address_from_cert,
//    which also refuses what cannot be a tunnel address; the SAN IP is
//    required), equal to the reply's "address" field, and one that
//    satisfies the request (common/address_request.hpp);
//  - carry the IPv4 address asked for, or none when none was asked: at
//    most one 4-octet subjectAltName IP, routable unicast, equal to the
//    reply's "ipv4" field and satisfying the request (common/ipv4.hpp);
//  - chain, for the purpose TLS client (EKU clientAuth), to the CA in
//    remote.ca_cert_file, or to the CA in the reply when a configured CA
//    vouches for it (vouched_for: a rotation, the new CA cross-signed by
//    the old) and it also verifies the service's own certificate chain.
// The returned CA is to be written to remote.ca_cert_file only when it
// differs from every configured CA, a configured CA vouches for it and it
// verifies the service's chain.
#pragma once

#include "common/address_request.hpp"
#include "common/failure.hpp"
#include "common/ipv4.hpp"

#include "enftun/tls/ssl_ptr.hpp"

#include <optional>
#include <string>
#include <vector>

namespace enftun::keygen {

struct Reply {
    std::string address;     // "address" field
    std::string certificate; // PEM
    std::string ca;          // PEM
    std::string ipv4 = "";   // "ipv4" field; "" when the reply has none
};

struct ReplyContext {
    const AddressRequest* request = nullptr; // outlives the check
    EVP_PKEY* key = nullptr;                 // the new key
    // remote.ca_cert_file's certificates.
    const std::vector<tls::X509Ptr>* configured_cas = nullptr;
    // The service's certificate chain as it presented it, leaf first; may
    // be empty (then a returned CA that differs is never written).
    const std::vector<tls::X509Ptr>* server_chain = nullptr;
    const Ipv4Request* ipv4 = nullptr; // null: no IPv4 may be in the certificate
};

struct CheckedReply {
    proto::Ipv6Addr address;
    std::optional<proto::Ipv4Addr> ipv4;
    tls::X509Ptr certificate;
    tls::X509Ptr new_ca; // null: keep remote.ca_cert_file as it is
};

// Errors: one line saying what is wrong with the reply.
Outcome<CheckedReply> check_reply(const ReplyContext& ctx, const Reply& reply);

// A device certificate's IPv6 address, checked as the tunnel checks it
// (tls::address_from_cert, which leaves IPv4 subjectAltName entries alone:
// check_reply checks those on its own terms).
// Errors: the tunnel's reason ("certificate Common Name is ...").
Outcome<proto::Ipv6Addr> device_address(X509* cert);

// Whether chain[0] verifies to one of anchors (chain[1..] as untrusted
// intermediates) for the given X509_PURPOSE_*. On false, *why says why.
bool verifies(const std::vector<X509*>& chain, const std::vector<X509*>& anchors, int purpose,
              std::string* why);

// Whether a configured CA vouches for new_ca: the path that verifies
// server_chain[0] (the service's certificate; server_chain[1..] as
// untrusted intermediates, as the transport had them) to one of configured
// passes, above the service's certificate, through a certificate with
// new_ca's subject and public key (a cross certificate a configured CA
// issued for it, or a configured CA itself).
bool vouched_for(X509* new_ca, const std::vector<X509*>& server_chain,
                 const std::vector<X509*>& configured);

} // namespace enftun::keygen
