// RouterChange: what a reload of the router's config file (SIGHUP,
// `systemctl reload`) means for the running router. Pure: the running
// config and the freshly loaded one in, the changed keys by what applying
// them takes. The Router does the applying (router_reload.cpp).
//
//   live      limits and timeouts: max_sessions, max_handshakes,
//             max_handshakes_per_source, first_byte_timeout,
//             handshake_timeout, idle_timeout, busy_poll_us at once; mtu and
//             queue_limit for sessions that start from then on.
//   tls       cert_file, key_file, ca_cert_file, crl_file, client_prefixes,
//             ipv4_client_prefixes: a new TLS context for new handshakes;
//             sessions up keep theirs (and their IPv4 binding; with no
//             prefixes left, IPv4 is dropped at once).
//             The files are read again on every reload, changed names or not.
//   restart   listen, port, address and the tun group: the sockets, the TUN
//             and its routes were set up with them. Kept at their running
//             values (router_config_to_apply) and named in one log line.
#pragma once

#include "enftun/config/router_config.hpp"

#include <string>
#include <vector>

namespace enftun::router {

struct RouterChange {
    std::vector<std::string> live;    // "router.max_sessions", ...
    std::vector<std::string> tls;     // changed names; the files are re-read anyway
    std::vector<std::string> restart; // "router.listen", "router.tun", ...
};

RouterChange classify_router_change(const config::RouterConfig& running,
                                    const config::RouterConfig& fresh);

// fresh, with every restart key kept at its running value.
config::RouterConfig router_config_to_apply(const config::RouterConfig& running,
                                            const config::RouterConfig& fresh);

} // namespace enftun::router
