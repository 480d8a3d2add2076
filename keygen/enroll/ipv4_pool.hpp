// IPv4 allocation from the optional `ipv4_pool` (one prefix): which IPv4
// address an enrolment that asks for one gets, given which are taken. Pure,
// so unit tests drive it with any `taken` set.
//
// `auto` is the lowest free address (IPv4 space is scarce: the pool fills
// from the bottom, and an operator can read the next one off `list`).
// Never handed out: the pool's network and broadcast addresses, the
// configured reserved IPv4 addresses (the router's own, for one), and any
// address that is not routable unicast (169.254/16 inside a 169/8 pool).
// An address with any line in the state file is taken for good, revoked or
// not, as the IPv6 addresses are (state.hpp).
#pragma once

#include "common/ipv4.hpp"
#include "enroll/api_error.hpp"

#include <functional>
#include <optional>
#include <vector>

namespace enftun::enroll {

using Ipv4TakenFn = std::function<bool(const proto::Ipv4Addr&)>;

struct Ipv4Pool {
    std::optional<keygen::Ipv4Prefix> prefix; // none: no IPv4 is issued
    std::vector<proto::Ipv4Addr> reserved;
};

// Errors: 403 "this service issues no IPv4 addresses" (no pool), 403
// (outside the pool, or reserved: its network or broadcast address or a
// reserved one), 409 (exact address taken), 503 "IPv4 address pool
// exhausted".
ApiResult<proto::Ipv4Addr> allocate_ipv4(const Ipv4Pool& pool, const keygen::Ipv4Request& request,
                                         const Ipv4TakenFn& taken);

} // namespace enftun::enroll
