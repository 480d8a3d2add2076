#include "enftun/router/router_change.hpp"

#include <algorithm>
#include <utility>

namespace enftun::router {

namespace {

bool same(const std::vector<config::Prefix>& a, const std::vector<config::Prefix>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_default != b[i].is_default || !(a[i].addr == b[i].addr) ||
            a[i].len != b[i].len) {
            return false;
        }
    }
    return true;
}

bool same(const std::optional<config::RouterTunConfig>& a,
          const std::optional<config::RouterTunConfig>& b) {
    if (!a || !b) {
        return !a && !b;
    }
    return a->dev == b->dev && a->dev_node == b->dev_node && a->mtu == b->mtu &&
           a->address == b->address && same(a->routes, b->routes) &&
           a->route_protocol == b->route_protocol && a->route_table == b->route_table &&
           a->offload == b->offload && a->route_record == b->route_record;
}

// Adds "router.NAME" to list when the two values differ.
template <typename T>
void note(std::vector<std::string>& list, const char* name, const T& a, const T& b) {
    if (!(a == b)) {
        list.push_back(std::string("router.") + name);
    }
}

} // namespace

RouterChange classify_router_change(const config::RouterConfig& running,
                                    const config::RouterConfig& fresh) {
    RouterChange c;
    const auto& r = running;
    const auto& f = fresh;
    note(c.restart, "listen", r.listen, f.listen);
    note(c.restart, "port", r.port, f.port);
    note(c.restart, "address", r.address, f.address);
    // The control socket and the metrics file are opened once, at start.
    note(c.restart, "control_socket", r.control_socket, f.control_socket);
    note(c.restart, "metrics_file", r.metrics_file, f.metrics_file);
    if (!same(r.tun, f.tun)) {
        c.restart.emplace_back("router.tun");
    }
    note(c.tls, "cert_file", r.cert_file, f.cert_file);
    note(c.tls, "key_file", r.key_file, f.key_file);
    note(c.tls, "ca_cert_file", r.ca_cert_file, f.ca_cert_file);
    note(c.tls, "crl_file", r.crl_file, f.crl_file);
    note(c.tls, "protocol", r.protocol, f.protocol);
    if (!same(r.client_prefixes, f.client_prefixes)) {
        c.tls.emplace_back("router.client_prefixes");
    }
    const auto same_v4 = [](const proto::Ipv4Prefix& a, const proto::Ipv4Prefix& b) {
        return a.addr == b.addr && a.len == b.len;
    };
    if (!std::equal(r.ipv4_client_prefixes.begin(), r.ipv4_client_prefixes.end(),
                    f.ipv4_client_prefixes.begin(), f.ipv4_client_prefixes.end(), same_v4)) {
        c.tls.emplace_back("router.ipv4_client_prefixes");
    }
    note(c.live, "max_sessions", r.max_sessions, f.max_sessions);
    note(c.live, "max_handshakes", r.max_handshakes, f.max_handshakes);
    note(c.live, "max_handshakes_per_source", r.max_handshakes_per_source,
         f.max_handshakes_per_source);
    note(c.live, "first_byte_timeout", r.first_byte_timeout, f.first_byte_timeout);
    note(c.live, "handshake_timeout", r.handshake_timeout, f.handshake_timeout);
    note(c.live, "idle_timeout", r.idle_timeout, f.idle_timeout);
    note(c.live, "mtu", r.mtu, f.mtu);
    note(c.live, "queue_limit", r.queue_limit, f.queue_limit);
    note(c.live, "busy_poll_us", r.busy_poll_us, f.busy_poll_us);
    return c;
}

config::RouterConfig router_config_to_apply(const config::RouterConfig& running,
                                            const config::RouterConfig& fresh) {
    config::RouterConfig out = fresh;
    out.listen = running.listen;
    out.port = running.port;
    out.address = running.address;
    out.control_socket = running.control_socket;
    out.metrics_file = running.metrics_file;
    out.tun = running.tun;
    return out;
}

} // namespace enftun::router
