#include "enftun/config/router_config.hpp"

#include "reader.hpp"

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace enftun::config {

namespace {

using detail::Group;

// IPv6 links need an MTU of at least 1280 (RFC 8200 section 5).
constexpr std::uint32_t kMinMtu = 1280;
constexpr std::uint32_t kMaxMtu = 65535;
constexpr std::uint32_t kMaxSessions = 1000000;
constexpr std::uint32_t kMaxHandshakes = 65536;
// One full-size frame (2-byte length + 65535) must fit in a client's queue.
constexpr std::size_t kMinQueueLimit = 65536;
constexpr std::size_t kMaxQueueLimit = 0x7fffffff;
// sockaddr_un's sun_path holds 108 bytes, its terminating NUL included.
constexpr std::size_t kMaxSocketPath = 107;

// One key of `router` or `router.tun`: its name and how it is read (the name
// is passed in).
template <typename Config>
struct Key {
    std::string_view name;
    void (*read)(const Group& g, const char* name, Config& c);
};

// The keys of `router`, one row each, in file order: read in row order (so
// the first error in a file is the same whatever else it holds), the group's
// known keys, and router_key_names(); config_docs_test holds the README's key
// table and conf/router.conf to them. A new key is a row here (or in
// kTunKeys) and a member of RouterConfig.
const Key<RouterConfig> kRouterKeys[] = {
    {"listen",
     [](const Group& g, const char* n, RouterConfig& r) {
         auto listen = g.parsed_list(n, parse_ip_literal);
         if (listen && listen->empty()) {
             g.fail(n, "must list at least one address");
         }
         r.listen = std::move(listen).value_or(r.listen);
     }},
    {"port",
     [](const Group& g, const char* n, RouterConfig& r) { r.port = g.port(n).value_or(r.port); }},
    {"address",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.address = g.required(n, g.parsed(n, parse_unicast_ipv6));
     }},
    {"cert_file", [](const Group& g, const char* n,
                     RouterConfig& r) { r.cert_file = g.required(n, g.path(n)); }},
    {"key_file",
     [](const Group& g, const char* n, RouterConfig& r) { r.key_file = g.required(n, g.path(n)); }},
    {"ca_cert_file", [](const Group& g, const char* n,
                        RouterConfig& r) { r.ca_cert_file = g.required(n, g.path(n)); }},
    {"crl_file", [](const Group& g, const char* n,
                    RouterConfig& r) { r.crl_file = g.path(n).value_or(r.crl_file); }},
    {"max_sessions",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.max_sessions = g.integer(n, std::uint32_t{1}, kMaxSessions).value_or(r.max_sessions);
     }},
    {"max_handshakes",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.max_handshakes =
             g.integer(n, std::uint32_t{1}, kMaxHandshakes).value_or(r.max_handshakes);
     }},
    {"max_handshakes_per_source",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.max_handshakes_per_source =
             g.integer(n, std::uint32_t{1}, kMaxHandshakes).value_or(r.max_handshakes_per_source);
     }},
    {"first_byte_timeout",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.first_byte_timeout = g.millis(n, 100).value_or(r.first_byte_timeout);
     }},
    {"handshake_timeout",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.handshake_timeout = g.millis(n, 100).value_or(r.handshake_timeout);
     }},
    {"idle_timeout",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.idle_timeout = g.millis(n, 1000).value_or(r.idle_timeout);
     }},
    {"mtu", [](const Group& g, const char* n,
               RouterConfig& r) { r.mtu = g.integer(n, kMinMtu, kMaxMtu).value_or(r.mtu); }},
    {"queue_limit",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.queue_limit = g.integer(n, kMinQueueLimit, kMaxQueueLimit).value_or(r.queue_limit);
     }},
    {"busy_poll_us",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.busy_poll_us =
             g.integer(n, std::uint32_t{0}, detail::kMaxBusyPollUs).value_or(r.busy_poll_us);
     }},
    {"protocol", [](const Group& g, const char* n,
                    RouterConfig& r) { r.protocol = g.integer(n, 1u, 2u).value_or(r.protocol); }},
    {"client_prefixes",
     [](const Group& g, const char* n, RouterConfig& r) {
         const auto no_default = [](std::string_view t) { return parse_prefix(t, false); };
         r.client_prefixes = g.parsed_list(n, no_default).value_or(r.client_prefixes);
     }},
    {"ipv4_client_prefixes",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.ipv4_client_prefixes =
             g.parsed_list(n, parse_ipv4_prefix).value_or(r.ipv4_client_prefixes);
     }},
    {"control_socket",
     [](const Group& g, const char* n, RouterConfig& r) {
         if (g.string(n) == std::optional<std::string>("")) {
             r.control_socket.clear(); // no control socket
             return;
         }
         r.control_socket = g.path(n).value_or(r.control_socket);
         if (r.control_socket.size() > kMaxSocketPath) {
             g.fail(n, "longer than 107 bytes, the most a Unix socket path holds");
         }
     }},
    {"metrics_file", [](const Group& g, const char* n,
                        RouterConfig& r) { r.metrics_file = g.path(n).value_or(r.metrics_file); }},
    {"tun", nullptr}, // read by read_router(), after the rows: its mtu defaults to router.mtu
};

// The keys of `router.tun`, as kRouterKeys.
const Key<RouterTunConfig> kTunKeys[] = {
    {"dev", [](const Group& g, const char* n,
               RouterTunConfig& t) { t.dev = g.parsed(n, parse_ifname).value_or(t.dev); }},
    {"dev_node", [](const Group& g, const char* n,
                    RouterTunConfig& t) { t.dev_node = g.path(n).value_or(t.dev_node); }},
    // At most router.mtu (read_tun starts from it): the router forwards
    // what the TUN hands it to clients, which close their tunnel on a packet
    // above the link's MTU.
    {"mtu", [](const Group& g, const char* n,
               RouterTunConfig& t) { t.mtu = g.integer(n, kMinMtu, t.mtu).value_or(t.mtu); }},
    {"address", [](const Group& g, const char* n,
                   RouterTunConfig& t) { t.address = g.parsed(n, parse_unicast_ipv6); }},
    {"routes",
     [](const Group& g, const char* n, RouterTunConfig& t) {
         const auto no_default = [](std::string_view x) { return parse_prefix(x, false); };
         t.routes = g.parsed_list(n, no_default).value_or(t.routes);
     }},
    // 0-4 mean something to the kernel (unspec, redirect, kernel, boot,
    // static); 255 is the local table, 0 no table.
    {"route_protocol",
     [](const Group& g, const char* n, RouterTunConfig& t) {
         t.route_protocol = g.integer<std::uint8_t>(n, 5, 255).value_or(t.route_protocol);
     }},
    {"route_table",
     [](const Group& g, const char* n, RouterTunConfig& t) {
         t.route_table = g.integer<std::uint32_t>(n, 1, 0x7fffffff).value_or(t.route_table);
         if (t.route_table == 255) {
             g.fail(n, "255 is the kernel's local table");
         }
     }},
    {"offload", [](const Group& g, const char* n,
                   RouterTunConfig& t) { t.offload = g.boolean(n).value_or(t.offload); }},
    {"route_record",
     [](const Group& g, const char* n, RouterTunConfig& t) {
         if (g.string(n) == std::optional<std::string>("")) {
             t.route_record.clear(); // no record
             return;
         }
         t.route_record = g.path(n).value_or(t.route_record);
     }},
};

// The top-level group `log`, as in the client's config.
const Key<RouterConfig> kLogKeys[] = {
    {"level",
     [](const Group& g, const char* n, RouterConfig& r) {
         r.log.level = g.parsed(n, parse_log_level).value_or(r.log.level);
     }},
};

template <typename Config, std::size_t N>
std::vector<std::string_view> names_of(const Key<Config> (&keys)[N]) {
    std::vector<std::string_view> names;
    for (const auto& k : keys) {
        names.push_back(k.name);
    }
    return names;
}

template <typename Config, std::size_t N>
void read_rows(const Group& g, const Key<Config> (&keys)[N], Config& c) {
    for (const auto& k : keys) {
        if (k.read != nullptr) {
            // A literal's whole text: NUL-terminated.
            k.read(g, k.name.data(), c);
        }
    }
}

// The TUN's mtu defaults to router.mtu.
RouterTunConfig read_tun(const Group& g, std::uint32_t router_mtu) {
    RouterTunConfig tun;
    tun.mtu = router_mtu;
    read_rows(g, kTunKeys, tun);
    return tun;
}

void read_router(const Group& g, RouterConfig& r) {
    read_rows(g, kRouterKeys, r);
    static const auto kTunNames = names_of(kTunKeys);
    const Group tun = g.group_of("tun", kTunNames);
    if (tun.present()) {
        r.tun = read_tun(tun, r.mtu);
    }
}

Result<RouterConfig, ConfigError> load(const detail::Document& doc) {
    detail::Reader reader(doc);
    const Group root = Group::root(reader, {"router", "log"});
    static const auto kRouterNames = names_of(kRouterKeys);
    const Group router = root.group_of("router", kRouterNames);
    if (!router.present()) {
        root.missing("router", "required group is missing");
    }
    RouterConfig r;
    read_router(router, r);
    static const auto kLogNames = names_of(kLogKeys);
    read_rows(root.group_of("log", kLogNames), kLogKeys, r);
    if (!reader.ok()) {
        return reader.error();
    }
    return r;
}

} // namespace

Result<RouterConfig, ConfigError> load_router_config(const std::string& path) {
    return detail::load_file<RouterConfig>(path, load);
}

Result<RouterConfig, ConfigError> load_router_config_from_string(const std::string& text,
                                                                 const std::string& base_dir,
                                                                 const std::string& source_name) {
    return detail::load_text<RouterConfig>(text, base_dir, source_name, load);
}

std::span<const std::string> router_key_names() {
    static const auto names = [] {
        std::vector<std::string> v;
        for (const auto& k : kRouterKeys) {
            if (k.name != "tun") {
                v.push_back("router." + std::string(k.name));
            }
        }
        for (const auto& k : kTunKeys) {
            v.push_back("router.tun." + std::string(k.name));
        }
        for (const auto& k : kLogKeys) {
            v.push_back("log." + std::string(k.name));
        }
        return v;
    }();
    return names;
}

} // namespace enftun::config
