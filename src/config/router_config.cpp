#include "enftun/config/router_config.hpp"

#include "reader.hpp"

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

// Every key of the groups `router` and `router.tun`, in file order: the
// known-key checks use these lists and router_key_names() prints them, and
// config_docs_test holds the README's key table and conf/router.conf to them.
// A new key goes here, in RouterConfig and in read_router() or read_tun().
constexpr std::string_view kRouterKeys[] = {"listen",
                                            "port",
                                            "address",
                                            "cert_file",
                                            "key_file",
                                            "ca_cert_file",
                                            "crl_file",
                                            "max_sessions",
                                            "max_handshakes",
                                            "max_handshakes_per_source",
                                            "first_byte_timeout",
                                            "handshake_timeout",
                                            "idle_timeout",
                                            "mtu",
                                            "queue_limit",
                                            "busy_poll_us",
                                            "client_prefixes",
                                            "tun"};
constexpr std::string_view kTunKeys[] = {"dev",    "dev_node",       "mtu",        "address",
                                         "routes", "route_protocol", "route_table"};

RouterTunConfig read_tun(const Group& g, std::uint32_t router_mtu) {
    RouterTunConfig tun;
    tun.dev = g.parsed("dev", parse_ifname).value_or(tun.dev);
    tun.dev_node = g.path("dev_node").value_or(tun.dev_node);
    tun.mtu = g.integer("mtu", kMinMtu, kMaxMtu).value_or(router_mtu);
    tun.address = g.parsed("address", parse_unicast_ipv6);
    const auto no_default = [](std::string_view t) { return parse_prefix(t, false); };
    tun.routes = g.parsed_list("routes", no_default).value_or(tun.routes);
    // 0-4 mean something to the kernel (unspec, redirect, kernel, boot,
    // static); 255 is the local table, 0 no table.
    tun.route_protocol =
        g.integer<std::uint8_t>("route_protocol", 5, 255).value_or(tun.route_protocol);
    tun.route_table =
        g.integer<std::uint32_t>("route_table", 1, 0x7fffffff).value_or(tun.route_table);
    if (tun.route_table == 255) {
        g.fail("route_table", "255 is the kernel's local table");
    }
    return tun;
}

void read_router(const Group& g, RouterConfig& r) {
    auto listen = g.parsed_list("listen", parse_ip_literal);
    if (listen && listen->empty()) {
        g.fail("listen", "must list at least one address");
    }
    r.listen = std::move(listen).value_or(r.listen);
    r.port = g.port("port").value_or(r.port);
    r.address = g.required("address", g.parsed("address", parse_unicast_ipv6));
    r.cert_file = g.required("cert_file", g.path("cert_file"));
    r.key_file = g.required("key_file", g.path("key_file"));
    r.ca_cert_file = g.required("ca_cert_file", g.path("ca_cert_file"));
    r.crl_file = g.path("crl_file").value_or(r.crl_file);
    r.max_sessions =
        g.integer("max_sessions", std::uint32_t{1}, kMaxSessions).value_or(r.max_sessions);
    r.max_handshakes =
        g.integer("max_handshakes", std::uint32_t{1}, kMaxHandshakes).value_or(r.max_handshakes);
    r.max_handshakes_per_source =
        g.integer("max_handshakes_per_source", std::uint32_t{1}, kMaxHandshakes)
            .value_or(r.max_handshakes_per_source);
    r.first_byte_timeout = g.millis("first_byte_timeout", 100).value_or(r.first_byte_timeout);
    r.handshake_timeout = g.millis("handshake_timeout", 100).value_or(r.handshake_timeout);
    r.idle_timeout = g.millis("idle_timeout", 1000).value_or(r.idle_timeout);
    r.mtu = g.integer("mtu", kMinMtu, kMaxMtu).value_or(r.mtu);
    r.queue_limit =
        g.integer("queue_limit", kMinQueueLimit, kMaxQueueLimit).value_or(r.queue_limit);
    r.busy_poll_us = g.integer("busy_poll_us", std::uint32_t{0}, detail::kMaxBusyPollUs)
                         .value_or(r.busy_poll_us);
    const auto no_default = [](std::string_view t) { return parse_prefix(t, false); };
    r.client_prefixes = g.parsed_list("client_prefixes", no_default).value_or(r.client_prefixes);
    const Group tun = g.group_of("tun", kTunKeys);
    if (tun.present()) {
        r.tun = read_tun(tun, r.mtu);
    }
}

Result<RouterConfig, ConfigError> load(const detail::Document& doc) {
    detail::Reader reader(doc);
    const Group root = Group::root(reader, {"router"});
    const Group router = root.group_of("router", kRouterKeys);
    if (!router.present()) {
        root.missing("router", "required group is missing");
    }
    RouterConfig r;
    read_router(router, r);
    if (!reader.ok()) {
        return reader.error();
    }
    return r;
}

} // namespace

Result<RouterConfig, ConfigError> load_router_config(const std::string& path) {
    auto text = detail::read_config_file(path);
    if (!text) {
        return text.error();
    }
    return load_router_config_from_string(*text, detail::config_dir(path), path);
}

Result<RouterConfig, ConfigError> load_router_config_from_string(const std::string& text,
                                                                 const std::string& base_dir,
                                                                 const std::string& source_name) {
    auto doc = detail::Document::parse(text, source_name, base_dir);
    if (!doc) {
        return doc.error();
    }
    return load(*doc);
}

std::span<const std::string> router_key_names() {
    static const auto names = [] {
        std::vector<std::string> v;
        for (const std::string_view key : kRouterKeys) {
            if (key != "tun") {
                v.push_back("router." + std::string(key));
            }
        }
        for (const std::string_view key : kTunKeys) {
            v.push_back("router.tun." + std::string(key));
        }
        return v;
    }();
    return names;
}

} // namespace enftun::config
