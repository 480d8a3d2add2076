// What a device asks for: "auto", one exact IPv6 address, or a /64 to pick
// an address from; and the prefix arithmetic both tools need to check an
// address against a request or a pool. Pure: no I/O.
#pragma once

#include "common/failure.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace enftun::keygen {

struct AddressRequest {
    enum class Kind { Auto, Exact, Prefix64 };
    Kind kind = Kind::Auto;
    proto::Ipv6Addr addr{}; // the address (Exact) or the /64's base (Prefix64)

    // "auto", "fd00:e::5" or "fd00:e:0:1::/64": the API's text form.
    std::string to_string() const;
};

// Errors (one line naming what is wrong, no trailing period):
//   "fd00::zz is not an IPv6 address",
//   "fd00::/65: only a /64 can be requested",
//   "fd00::1/64: bits set after the /64",
//   "ff02::1 is not a unicast address".
Outcome<AddressRequest> parse_address_request(std::string_view text);

// Whether addr lies in prefix/len (len 0..128).
bool prefix_contains(const proto::Ipv6Addr& prefix, unsigned len, const proto::Ipv6Addr& addr);

// Whether the address satisfies the request (auto: any address).
bool request_satisfied_by(const AddressRequest& request, const proto::Ipv6Addr& addr);

} // namespace enftun::keygen
