#include "enroll/ipv4_pool.hpp"

#include <algorithm>

namespace enftun::enroll {

namespace {

using keygen::format_ipv4;
using keygen::ipv4_from_u32;
using keygen::ipv4_to_u32;

// Network, broadcast, configured as reserved, or not routable unicast.
bool reserved(const Ipv4Pool& pool, const proto::Ipv4Addr& addr) {
    const std::uint32_t v = ipv4_to_u32(addr);
    return v == pool.prefix->first() || v == pool.prefix->last() ||
           std::find(pool.reserved.begin(), pool.reserved.end(), addr) != pool.reserved.end() ||
           !proto::is_routable_unicast(addr);
}

ApiResult<proto::Ipv4Addr> lowest_free(const Ipv4Pool& pool, const Ipv4TakenFn& taken) {
    for (std::uint32_t v = pool.prefix->first() + 1; v < pool.prefix->last(); ++v) {
        const auto addr = ipv4_from_u32(v);
        if (!reserved(pool, addr) && !taken(addr)) {
            return addr;
        }
    }
    return ApiError{503, "IPv4 address pool exhausted"};
}

ApiResult<proto::Ipv4Addr> exact(const Ipv4Pool& pool, const proto::Ipv4Addr& addr,
                                 const Ipv4TakenFn& taken) {
    const std::string text = format_ipv4(addr);
    if (!pool.prefix->contains(addr)) {
        return ApiError{403, "IPv4 address " + text + " is not inside the IPv4 pool " +
                                 pool.prefix->to_string()};
    }
    if (reserved(pool, addr)) {
        return ApiError{403, "IPv4 address " + text + " is reserved"};
    }
    if (taken(addr)) {
        return ApiError{409, "IPv4 address " + text + " is already enrolled"};
    }
    return addr;
}

} // namespace

ApiResult<proto::Ipv4Addr> allocate_ipv4(const Ipv4Pool& pool, const keygen::Ipv4Request& request,
                                         const Ipv4TakenFn& taken) {
    if (!pool.prefix) {
        return ApiError{403, "this service issues no IPv4 addresses (no ipv4_pool configured)"};
    }
    if (request.kind == keygen::Ipv4Request::Kind::Auto) {
        return lowest_free(pool, taken);
    }
    return exact(pool, request.addr, taken);
}

} // namespace enftun::enroll
