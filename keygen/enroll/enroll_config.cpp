#include "enroll/enroll_config.hpp"

#include "config/reader.hpp"

#include <variant>

namespace enftun::enroll {

namespace {

using config::ConfigError;
using config::detail::Group;

// Ten years: longer-lived device certificates would outlive any sane CA
// rotation and make revocation lists the only defence for too long.
constexpr std::uint32_t kMaxCertDays = 3650;
// Each waiting connection holds a descriptor: more than this per listener
// would only be a bigger target, never a faster service.
constexpr std::uint32_t kMaxWaitingConnections = 4096;
// A bound that still means something (and fits the state file's size).
constexpr std::uint32_t kMaxActivePerUser = 1000000;
constexpr std::uint32_t kMaxEnrolmentsPerHour = 100000;

config::ValueResult<keygen::Ipv4Prefix> ipv4_pool_value(std::string_view text) {
    auto prefix = keygen::parse_ipv4_prefix(text);
    if (!prefix) {
        return config::ValueError{prefix.error().message};
    }
    return *prefix;
}

// A `reserved` entry: an IPv6 address of the pool, or an IPv4 address of
// ipv4_pool (the router's own on its tunnel interface, for one).
using ReservedAddr = std::variant<proto::Ipv6Addr, proto::Ipv4Addr>;
using ReservedList = std::vector<ReservedAddr>;

config::ValueResult<ReservedAddr> reserved_value(std::string_view text) {
    if (auto v6 = config::parse_unicast_ipv6(text)) {
        return ReservedAddr{*v6};
    }
    auto v4 = keygen::parse_ipv4_addr(text);
    if (v4 && proto::is_routable_unicast(*v4)) {
        return ReservedAddr{*v4};
    }
    return config::ValueError{"must be a unicast IPv6 address such as fd00::1 or a routable "
                              "IPv4 address such as 198.18.0.1 (got " +
                              config::quote_for_message(text) + ")"};
}

void read_enroll(const Group& g, EnrollConfig& c, const std::string& base_dir) {
    auto listen = g.parsed_list("listen", config::parse_ip_literal);
    if (listen && listen->empty()) {
        g.fail("listen", "must list at least one address");
    }
    c.listen = std::move(listen).value_or(c.listen);
    c.port = g.port("port").value_or(c.port);
    c.cert_file = g.required("cert_file", g.path("cert_file"));
    c.key_file = g.required("key_file", g.path("key_file"));
    c.ca_cert_file = g.required("ca_cert_file", g.path("ca_cert_file"));
    c.ca_key_file = g.required("ca_key_file", g.path("ca_key_file"));
    c.crl_file = g.required("crl_file", g.path("crl_file"));
    const auto no_default = [](std::string_view t) { return config::parse_prefix(t, false); };
    auto pool = g.parsed_list("pool", no_default);
    if (pool && pool->empty()) {
        g.fail("pool", "must list at least one prefix");
    }
    c.pool = g.required("pool", std::move(pool));
    for (const auto& addr : g.parsed_list("reserved", reserved_value).value_or(ReservedList{})) {
        if (const auto* v6 = std::get_if<proto::Ipv6Addr>(&addr)) {
            c.reserved.push_back(*v6);
        } else {
            c.reserved_ipv4.push_back(std::get<proto::Ipv4Addr>(addr));
        }
    }
    c.ipv4_pool = g.parsed("ipv4_pool", ipv4_pool_value);
    c.users_file = g.path("users_file").value_or(base_dir + "/users");
    c.state_file = g.path("state_file").value_or(base_dir + "/enrolled");
    c.cert_days = g.integer("cert_days", std::uint32_t{1}, kMaxCertDays).value_or(c.cert_days);
    c.max_waiting_connections =
        g.integer("max_waiting_connections", std::uint32_t{0}, kMaxWaitingConnections)
            .value_or(c.max_waiting_connections);
    c.max_active_per_user = g.integer("max_active_per_user", std::uint32_t{0}, kMaxActivePerUser)
                                .value_or(c.max_active_per_user);
    c.max_enrolments_per_hour =
        g.integer("max_enrolments_per_hour", std::uint32_t{0}, kMaxEnrolmentsPerHour)
            .value_or(c.max_enrolments_per_hour);
}

Result<EnrollConfig, ConfigError> load(const config::detail::Document& doc) {
    config::detail::Reader reader(doc);
    const Group root = Group::root(reader, {"enroll"});
    const Group g =
        root.group("enroll", {"listen", "port", "cert_file", "key_file", "ca_cert_file",
                              "ca_key_file", "crl_file", "pool", "reserved", "ipv4_pool",
                              "users_file", "state_file", "cert_days", "max_waiting_connections",
                              "max_active_per_user", "max_enrolments_per_hour"});
    if (!g.present()) {
        root.missing("enroll", "required group is missing");
    }
    EnrollConfig c;
    read_enroll(g, c, doc.base_dir());
    if (!reader.ok()) {
        return reader.error();
    }
    return c;
}

} // namespace

Result<EnrollConfig, ConfigError> load_enroll_config(const std::string& path) {
    auto text = config::detail::read_config_file(path);
    if (!text) {
        return text.error();
    }
    return load_enroll_config_from_string(*text, config::detail::config_dir(path), path);
}

Result<EnrollConfig, ConfigError> load_enroll_config_from_string(const std::string& text,
                                                                 const std::string& base_dir,
                                                                 const std::string& source_name) {
    auto doc = config::detail::Document::parse(text, source_name, base_dir);
    if (!doc) {
        return doc.error();
    }
    return load(*doc);
}

} // namespace enftun::enroll
