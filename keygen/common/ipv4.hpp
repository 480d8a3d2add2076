// IPv4 in provisioning: what a device may ask for ("auto" or one address),
// the pool prefix the service hands addresses out of, and the text forms
// both tools use. A device certificate carries at most one IPv4 address,
// as a subjectAltName iPAddress entry of 4 octets next to its IPv6 one
// (the CN stays the IPv6 address); the router binds the session to it.
// Only routable unicast addresses (proto::is_routable_unicast) are ever
// asked for, handed out or accepted in a reply. Pure: no I/O.
#pragma once

#include "common/failure.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enftun::keygen {

struct Ipv4Request {
    enum class Kind { Auto, Exact };
    Kind kind = Kind::Auto;
    proto::Ipv4Addr addr{}; // Exact only

    // "auto" or "198.18.0.5": the API's text form.
    std::string to_string() const;
};

// Errors (one line, no trailing period):
//   "198.18.0.0/24: give one IPv4 address or \"auto\", not a prefix",
//   "x is not an IPv4 address or \"auto\"",
//   "127.0.0.1 is not a routable unicast IPv4 address".
Outcome<Ipv4Request> parse_ipv4_request(std::string_view text);

// Whether addr satisfies the request (auto: any routable unicast address).
bool ipv4_request_satisfied_by(const Ipv4Request& request, const proto::Ipv4Addr& addr);

// A dotted quad (inet_pton's strict form). Errors: "x is not an IPv4 address".
Outcome<proto::Ipv4Addr> parse_ipv4_addr(std::string_view text);
std::string format_ipv4(const proto::Ipv4Addr& addr);

// An IPv4 prefix, host bits clear.
struct Ipv4Prefix {
    proto::Ipv4Addr addr{};
    unsigned len = 0;

    std::uint32_t first() const; // the network address, host order
    std::uint32_t last() const;  // the broadcast address, host order
    bool contains(const proto::Ipv4Addr& a) const;
    std::string to_string() const;
};

// "a.b.c.d/len" with len from 8 to 30 (a pool needs an address besides its
// network and broadcast ones), no host bits set, and a routable unicast
// network address. Errors: one line saying which rule the text breaks.
Outcome<Ipv4Prefix> parse_ipv4_prefix(std::string_view text);

std::uint32_t ipv4_to_u32(const proto::Ipv4Addr& addr);
proto::Ipv4Addr ipv4_from_u32(std::uint32_t v);

// The subjectAltName value of a device certificate, for
// X509V3_EXT_conf_nid: "IP:<ipv6>" or "IP:<ipv6>,IP:<ipv4>".
std::string device_san(const proto::Ipv6Addr& addr, const std::optional<proto::Ipv4Addr>& ipv4);

} // namespace enftun::keygen
