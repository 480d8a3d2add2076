// Address allocation from the configured pool: which address a request gets,
// given which addresses are already taken. Pure apart from the random
// source, so unit tests can drive it with any `taken` set.
//
// Never handed out: the all-zero host part of a pool prefix shorter than
// /127 (the Subnet-Router anycast address, RFC 4291 section 2.6.1) and the
// configured reserved addresses (the router's own, for one).
#pragma once

#include "common/address_request.hpp"
#include "enftun/config/values.hpp"
#include "enroll/api_error.hpp"

#include <functional>
#include <vector>

namespace enftun::enroll {

using TakenFn = std::function<bool(const proto::Ipv6Addr&)>;
// Fills the span with random bytes (RAND_bytes in the service).
using RandomFn = std::function<void(std::uint8_t* out, std::size_t n)>;

struct Pool {
    std::vector<config::Prefix> prefixes;
    std::vector<proto::Ipv6Addr> reserved;
};

// Picks the address for request:
//   auto:    a random free address in a random pool prefix;
//   /64:     a random free address in that /64, which must lie in the pool;
//   exact:   that address, which must lie in the pool and be free.
// Errors: 403 (outside the pool, or reserved), 409 (exact address taken),
// 503 "address pool exhausted" (no free address found).
ApiResult<proto::Ipv6Addr> allocate(const Pool& pool, const keygen::AddressRequest& request,
                                    const TakenFn& taken, const RandomFn& random);

// Whether addr lies in one of the pool's prefixes.
bool in_pool(const Pool& pool, const proto::Ipv6Addr& addr);

} // namespace enftun::enroll
