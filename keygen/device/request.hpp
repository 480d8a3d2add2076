// What a device asks the enrollment service for, and whether an address
// satisfies it. Pure: no I/O, no OpenSSL, so every argument is checked
// (and unit-tested) before anything touches the network.
//
//   "auto"             any free address of the service's pool
//   "fd00:e:0:1::/64"  any free address in that /64 (no host bits set)
//   "fd00:e::5"        exactly that address (unicast)
#pragma once

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace enftun::keygen {

struct EnrollRequest {
    enum class Kind { Auto, Prefix64, Exact };
    Kind kind = Kind::Auto;
    proto::Ipv6Addr addr{}; // the /64's first address, or the exact address
    std::string text;       // as sent in the "request" field (RFC 5952 form)
};

// Parses the command line's ADDRESS|PREFIX/64|auto. Errors (a message that
// names what is wrong): not an IPv6 address; a prefix whose length is not
// 64 or that has bits set past /64; a multicast, unspecified, loopback or
// link-local address.
Result<EnrollRequest, std::string> parse_request(std::string_view text);

// Whether addr is a usable device address (global or ULA unicast: not
// unspecified, loopback, multicast or link-local) that req allows.
bool satisfies(const EnrollRequest& req, const proto::Ipv6Addr& addr);

// Whether addr can be a device's address at all (see satisfies()).
bool is_device_address(const proto::Ipv6Addr& addr);

// The service URL when neither --server nor enroll.url says: "https://" +
// host (an IPv6 literal in brackets) + ":8443". host is remote.hosts[0].
std::string default_server_url(const std::string& host);

} // namespace enftun::keygen
