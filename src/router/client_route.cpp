#include "enftun/router/client_route.hpp"

#include <algorithm>

namespace enftun::router {

namespace {

bool is_loopback(const proto::Ipv6Addr& a) {
    return std::all_of(a.bytes.begin(), a.bytes.begin() + 15, [](auto b) { return b == 0; }) &&
           a.bytes[15] == 1;
}

bool is_v4_mapped(const proto::Ipv6Addr& a) {
    return std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](auto b) { return b == 0; }) &&
           a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

bool is_site_local(const proto::Ipv6Addr& a) {
    return a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0xc0;
}

} // namespace

bool is_global_destination(const proto::Ipv6Addr& dst) {
    return !dst.is_unspecified() && !is_loopback(dst) && !is_v4_mapped(dst) &&
           !dst.is_link_local() && !is_site_local(dst) && !dst.is_multicast();
}

ClientRoute route_from_client(const proto::Ipv6Addr& dst, const proto::Ipv6Addr& router_address) {
    if (dst == proto::kRouterLinkLocal || dst == router_address) {
        return ClientRoute::Local;
    }
    return is_global_destination(dst) ? ClientRoute::Forward : ClientRoute::NotGlobal;
}

bool is_client_subnet_edge(const proto::Ipv4Addr& dst,
                           const std::vector<proto::Ipv4Prefix>& client_prefixes) {
    return std::any_of(client_prefixes.begin(), client_prefixes.end(),
                       [&](const proto::Ipv4Prefix& p) { return proto::is_subnet_edge(p, dst); });
}

Ipv4Route route_ipv4_from_client(const proto::Ipv4Addr& src, const proto::Ipv4Addr& dst,
                                 const std::optional<proto::Ipv4Addr>& bound,
                                 const std::vector<proto::Ipv4Prefix>& client_prefixes) {
    if (client_prefixes.empty()) {
        return Ipv4Route::Off;
    }
    if (!bound || src != *bound) {
        return Ipv4Route::Spoofed;
    }
    if (!proto::is_routable_unicast(dst) || is_client_subnet_edge(dst, client_prefixes)) {
        return Ipv4Route::NotGlobal;
    }
    return Ipv4Route::Forward;
}

} // namespace enftun::router
