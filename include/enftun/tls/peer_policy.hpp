// PeerPolicy: who the other end of a TLS connection must be, beyond a chain
// to our CA. A CA signs routers and clients alike (and may sign other
// services), so a chain alone says nothing about the role:
//
//   we are the client: the router's certificate must carry the serverAuth
//     extended key usage (a certificate without the extension is refused,
//     which OpenSSL's purpose check would let through), name the host we
//     connected to (or remote.server_name) in its subjectAltName, checked
//     by OpenSSL (X509_VERIFY_PARAM_set1_host / set1_ip), and, when pins
//     are set, hold one of the pinned public keys;
//   we are the router: a client's certificate must carry clientAuth, and
//     its address (the CN) must not be one of the router's own and, when
//     prefixes are set, must lie inside one of them; its IPv4 address (a
//     4-octet subjectAltName IP, identity.hpp), when it has one and IPv4
//     prefixes are set, must lie inside one of those.
//
// The checks run inside the handshake (a verify callback on the SSL_CTX),
// so a refused peer gets a TLS alert and never a session. Each refusal is
// recorded as one sentence in the connection's PeerCheck, which TlsStream
// hands to its owner to log once.
//
// Order of the checks, so a certificate wrong in several ways always gets
// the same reason: EKU, then name, then pin (client) or address (router).
#pragma once

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::tls {

enum class Role { Client, Server };

// SHA-256 of a DER SubjectPublicKeyInfo.
using Sha256 = std::array<std::uint8_t, 32>;

struct AddrPrefix {
    proto::Ipv6Addr addr{};
    std::uint8_t len = 0;
};

struct PeerPolicy {
    // Client side: pinned router keys; empty: no pinning.
    std::vector<Sha256> pins;
    // Router side: addresses no client certificate may claim (the router's
    // own), and the prefixes a client's address must lie in (empty: any).
    std::vector<proto::Ipv6Addr> reserved_addresses;
    std::vector<AddrPrefix> client_prefixes;
    // The prefixes a client's IPv4 address must lie in; empty: IPv4 off,
    // the certificate's IPv4 is not judged (the router ignores it).
    std::vector<proto::Ipv4Prefix> client_ipv4_prefixes;
    // Both sides: the notBefore of our own certificate (TlsContext sets it).
    // While the clock is before it, peers are checked as at it
    // (clock_floor.hpp).
    std::optional<std::int64_t> clock_floor;
};

// What one connection expects of its peer, and why it was refused.
// Owned by the TlsStream, borrowed by the SSL (ex_data) during handshakes.
struct PeerCheck {
    const PeerPolicy* policy = nullptr; // the context's; outlives the stream
    Role role = Role::Client;           // our role
    std::string name;                   // client side: the name checked
    std::string refusal;                // "" unless the policy refused the peer
    // When the clock was behind clock_floor: the time the peer was checked at.
    std::optional<std::int64_t> checked_at;
    // A certificate of the peer's chain refused for its validity period:
    // validity_note() of the first such one; "" otherwise.
    std::string validity_note;
};

// nullptr if cert carries the extended key usage a peer of ours needs
// (serverAuth when we are the client, clientAuth when we are the router),
// else the reason ("no serverAuth extended key usage").
const char* check_eku(X509* cert, Role our_role);

// SHA-256 of cert's DER SubjectPublicKeyInfo, as
// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`.
Sha256 spki_sha256(X509* cert);

// Whether cert's public key is one of pins.
bool pin_matches(X509* cert, std::span<const Sha256> pins);

// 64 hex digits (either case) to a digest; nullopt otherwise.
std::optional<Sha256> parse_sha256_hex(std::string_view text);
std::string format_sha256_hex(const Sha256& digest);

bool prefix_contains(const AddrPrefix& prefix, const proto::Ipv6Addr& addr);

// "" if a client may claim addr under policy, else the reason.
std::string check_client_address(const proto::Ipv6Addr& addr, const PeerPolicy& policy);

// "" if a client may claim the IPv4 address addr under policy (always when
// policy.client_ipv4_prefixes is empty), else the reason: outside the
// prefixes, or the network or broadcast address of one of them.
std::string check_client_ipv4(const proto::Ipv4Addr& addr, const PeerPolicy& policy);

// The SSL_CTX verify callback that applies the PeerCheck attached to the
// connection's SSL (a connection without one is judged by OpenSSL alone).
int verify_peer(int preverify_ok, X509_STORE_CTX* store) noexcept;

// Attaches check to ssl (borrowed: it must outlive the handshake) and, on
// the client side, makes OpenSSL match check->name, an IP literal or a DNS
// name, against the certificate's subjectAltName. False on failure
// (allocation, or a name OpenSSL will not take).
bool attach_peer_check(SSL* ssl, PeerCheck* check);

} // namespace enftun::tls
