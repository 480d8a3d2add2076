#include "enftun/config/client_config.hpp"

#include "reader.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <variant>

namespace enftun::config {

namespace {

using detail::Group;

// The keys a group ("tun", "identity.tpm") may hold, from the key table.
detail::KeyNames known_keys(std::string_view group);

// Reads the keys of group that the key table reads, in its order, into c.
void read_keys(const Group& g, std::string_view group, ClientConfig& c);

// Linux routing table ids that already mean something: RT_TABLE_DEFAULT,
// RT_TABLE_MAIN and RT_TABLE_LOCAL (<linux/rtnetlink.h>).
constexpr std::uint32_t kTableDefault = 253;
constexpr std::uint32_t kTableLocal = 255;

// IPv6 links need an MTU of at least 1280 (RFC 8200 section 5).
constexpr std::uint32_t kMinMtu = 1280;
constexpr std::uint32_t kMaxMtu = 65535;
constexpr std::uint32_t kMaxU32 = 0xffffffff;

// route.ra_period is MaxRtrAdvInterval: at least 4 s (RFC 4861 §6.2.1).
// RFC 8319 §4 lets it reach 65535 s, but our router and route lifetimes are
// 3 x the period (RFC 4861 §6.2.1) and the router lifetime field stops at
// 65535 s, so the period stops at 65535 / 3 = 21845 s.
constexpr std::int64_t kMinRaPeriodMs = 4000;
constexpr std::int64_t kMaxRaPeriodMs = 21845000;

// identity.xtt of the original enftun: present, even empty, it meant
// "provision the identity with XTT". Empty, the config still works if
// cert_file and key_file are PEM files, so it is a warning; with settings it
// cannot mean what it says.
void read_unsupported_identity(const Group& g, const char* key, const char* what) {
    const auto n = g.group_length(key);
    if (!n) {
        return;
    }
    if (*n == 0) {
        g.warn(key, std::string("ignored: ") + what +
                        " identity is not supported by this enftun; cert_file and key_file "
                        "must be PEM files");
    } else {
        g.fail(key, std::string("not supported by this enftun: ") + what +
                        " identity (use a PEM cert_file and key_file and remove this group)");
    }
}

// TPM 2.0 handle ranges (TPM 2.0 Part 2, 7.2 TPM_HT): persistent objects
// are 0x81xxxxxx, the owner hierarchy is TPM_RH_OWNER.
constexpr std::uint32_t kPersistentFirst = 0x81000000;
constexpr std::uint32_t kPersistentLast = 0x81ffffff;
constexpr std::uint32_t kOwnerHierarchy = 0x40000001;

// "handle:0x81000001" (the tpm2 provider's URI) or "0x81000001" (what the
// original's tpm2tss engine took): a persistent key, as the provider's URI.
std::optional<std::string> persistent_handle_uri(std::string_view text) {
    constexpr std::string_view kScheme = "handle:";
    if (text.substr(0, kScheme.size()) == kScheme) {
        text.remove_prefix(kScheme.size());
    }
    if (text.size() != 10 || (text.substr(0, 2) != "0x" && text.substr(0, 2) != "0X")) {
        return std::nullopt;
    }
    std::uint32_t v = 0;
    for (const char ch : text.substr(2)) {
        const int d = std::isxdigit(static_cast<unsigned char>(ch)) == 0 ? -1
                      : std::isdigit(static_cast<unsigned char>(ch)) != 0
                          ? ch - '0'
                          : (std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10);
        if (d < 0) {
            return std::nullopt;
        }
        v = v * 16 + static_cast<std::uint32_t>(d);
    }
    if (v < kPersistentFirst || v > kPersistentLast) {
        return std::nullopt;
    }
    char uri[32];
    std::snprintf(uri, sizeof uri, "handle:0x%08x", v);
    return std::string(uri);
}

ValueResult<TpmConfig::Tcti> parse_tcti(std::string_view text) {
    for (const auto t :
         {TpmConfig::Tcti::Device, TpmConfig::Tcti::Socket, TpmConfig::Tcti::Swtpm}) {
        if (text == tcti_name(t)) {
            return t;
        }
    }
    return ValueError{"must be \"device\" (a TPM device node), \"socket\" (a TPM simulator, "
                      "mssim protocol) or \"swtpm\" (the swtpm software TPM)"};
}

// enroll.url: where enftun-keygen finds enftun-enroll. Only https: the
// device sends a password there and no option turns verification off.
ValueResult<std::string> parse_enroll_url(std::string_view text) {
    constexpr std::string_view kScheme = "https://";
    if (text.substr(0, kScheme.size()) != kScheme || text.size() == kScheme.size()) {
        return ValueError{"must be an https:// URL such as \"https://[fd00:e::1]:8443\""};
    }
    for (const char ch : text) {
        if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) {
            return ValueError{"must not contain whitespace or control characters"};
        }
    }
    return std::string(text);
}

// Top-level groups of the original enftun with no counterpart here.
void read_legacy_root(const Group& root) {
    // The original wrote `version = "1.0"`.
    (void)root.string("version");
    if (root.has("slirp")) {
        root.fail("slirp", "not supported by this enftun: the slirp user-mode network stack "
                           "(enftun uses a TUN device; remove this group)");
    }
    if (const auto n = root.group_length("nat"); n && *n > 0) {
        root.fail("nat", "not supported by this enftun: NAT rules");
    } else if (n) {
        root.warn("nat", "ignored: an empty NAT group (NAT is not supported by this enftun)");
    }
    if (root.group_length("trace")) {
        root.warn("trace", "ignored: packet tracing to a pcap file is not supported by this "
                           "enftun (use tcpdump on the TUN)");
    }
}

Result<ClientConfig, ConfigError> load(const detail::Document& doc) {
    detail::Reader reader(doc);
    const Group root = Group::root(reader, {"version", "tun", "remote", "route", "identity",
                                            "enroll", "log", "slirp", "nat", "trace"});
    read_legacy_root(root);

    ClientConfig c;
    read_keys(root.group_of("tun", known_keys("tun")), "tun", c);
    read_keys(root.group_of("remote", known_keys("remote")), "remote", c);
    read_keys(root.group_of("route", known_keys("route")), "route", c);
    const Group identity = root.group_of("identity", known_keys("identity"));
    // identity.tpm of the original enftun (its src/config.c): present, even
    // empty, the key is in a TPM. Read first: identity.key_file's row takes
    // a persistent handle only with it.
    if (identity.group_length("tpm")) {
        c.identity.tpm.emplace();
        read_keys(identity.group_of("tpm", known_keys("identity.tpm")), "identity.tpm", c);
    }
    read_keys(identity, "identity", c);
    read_unsupported_identity(identity, "xtt", "XTT");
    read_keys(root.group_of("enroll", known_keys("enroll")), "enroll", c);
    read_keys(root.group_of("log", known_keys("log")), "log", c);
    if (!reader.ok()) {
        return reader.error();
    }
    c.warnings = reader.warnings();
    return c;
}

// ---- printer ----

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        out += out.empty() ? "" : " ";
        out += s;
    }
    return out;
}

std::string print_bool(bool v) {
    return v ? "true" : "false";
}
std::string print_ms(std::chrono::milliseconds v) {
    return std::to_string(v.count());
}

const TpmConfig& tpm_of(const ClientConfig& c) {
    static const TpmConfig kDefaults;
    return c.identity.tpm ? *c.identity.tpm : kDefaults;
}

// The identity.tpm.* rows' reader: load() makes the group's TpmConfig
// before it reads them.
TpmConfig& tpm_in(ClientConfig& c) {
    if (!c.identity.tpm) {
        c.identity.tpm.emplace();
    }
    return *c.identity.tpm;
}

// What a row of kKeys is: a key the file may set, or one `enftun -p`
// answers for the original enftun's scripts only.
enum class Row { Setting, PrintOnly };

// One key: its dotted name, how it is read from its group (the leaf name is
// passed in; null for a PrintOnly row) and how `enftun -p` prints it. The
// default is the ClientConfig member's initializer (a read leaves it when
// the key is absent), which `-p` prints for a file without the key
// (config_docs_test holds the README's default column to it).
struct Key {
    std::string_view key;
    void (*read)(const Group& g, const char* name, ClientConfig& c);
    std::string (*print)(const ClientConfig&);
    Row row = Row::Setting;
};

// The client's keys, one row each, in file order: this table is what
// reads them (read_keys(), in row order, so the first error in a file is
// the same whatever else it holds), what `enftun -p` prints
// (print_client_key(), client_key_names()) and what a group may hold
// (known_keys(), plus kLegacyKeys). config_docs_test holds the README's key
// table and conf/example.conf to it. A new key is a row here and a member of
// ClientConfig (with its default).
const Key kKeys[] = {
    {"tun.dev",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.dev = g.parsed(n, parse_ifname).value_or(c.tun.dev);
     },
     [](const ClientConfig& c) { return c.tun.dev; }},
    {"tun.dev_node",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.dev_node = g.path(n).value_or(c.tun.dev_node);
     },
     [](const ClientConfig& c) { return c.tun.dev_node; }},
    // The original enftun (xaptum/enftun src/config.c) ran `ip` to set the
    // address: tun.ip_path named it, tun.ip_set is its set_address.
    {"tun.set_address",
     [](const Group& g, const char* n, ClientConfig& c) {
         const auto set_address = g.boolean(n);
         const auto ip_set = g.boolean("ip_set");
         if (set_address && ip_set && *set_address != *ip_set) {
             g.fail("ip_set", "conflicts with tun.set_address (ip_set is the original enftun's "
                              "name for it; keep one)");
         }
         c.tun.set_address = set_address.value_or(ip_set.value_or(c.tun.set_address));
         if (g.string("ip_path")) {
             g.warn("ip_path", "ignored: enftun sets the TUN address through netlink, not with ip");
         }
     },
     [](const ClientConfig& c) { return print_bool(c.tun.set_address); }},
    {"tun.mtu",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.mtu = g.integer(n, kMinMtu, kMaxMtu).value_or(c.tun.mtu);
     },
     [](const ClientConfig& c) { return std::to_string(c.tun.mtu); }},
    {"tun.lladdr",
     [](const Group& g, const char* n, ClientConfig& c) { c.tun.lladdr = g.parsed(n, parse_mac); },
     [](const ClientConfig& c) { return c.tun.lladdr ? format_mac(*c.tun.lladdr) : ""; }},
    {"tun.busy_poll_us",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.busy_poll_us =
             g.integer(n, std::uint32_t{0}, detail::kMaxBusyPollUs).value_or(c.tun.busy_poll_us);
     },
     [](const ClientConfig& c) { return std::to_string(c.tun.busy_poll_us); }},
    {"tun.offload",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.offload = g.boolean(n).value_or(c.tun.offload);
     },
     [](const ClientConfig& c) { return print_bool(c.tun.offload); }},
    {"tun.ipv4_address",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.tun.ipv4_address = g.parsed(n, parse_ipv4);
     },
     [](const ClientConfig& c) {
         return c.tun.ipv4_address ? format_ipv4(*c.tun.ipv4_address) : "";
     }},
    {"tun.control_socket",
     [](const Group& g, const char* n, ClientConfig& c) {
         const auto text = g.string(n);
         c.tun.control_socket = !text           ? default_control_socket(c.tun.dev)
                                : text->empty() ? std::string() // no control socket
                                                : g.path(n).value_or(std::string());
         // sun_path holds 108 bytes with the NUL (unix(7)).
         if (c.tun.control_socket.size() > 107) {
             g.fail(n, "must be a path of at most 107 bytes (relative: to the config's "
                       "folder), or \"\" for none");
         }
     },
     [](const ClientConfig& c) { return c.tun.control_socket; }},
    {"tun.backoff_file",
     [](const Group& g, const char* n, ClientConfig& c) {
         const auto text = g.string(n);
         c.tun.backoff_file = !text ? default_backoff_file(c.tun.control_socket, c.tun.dev)
                              : text->empty() ? std::string() // keep no record
                                              : g.path(n).value_or(std::string());
     },
     [](const ClientConfig& c) { return c.tun.backoff_file; }},
    {"tun.metrics_file",
     [](const Group& g, const char* n, ClientConfig& c) { c.tun.metrics_file = g.path(n); },
     [](const ClientConfig& c) { return c.tun.metrics_file.value_or(std::string()); }},
    {"remote.hosts",
     [](const Group& g, const char* n, ClientConfig& c) {
         auto hosts = g.parsed_list(n, parse_host);
         if (hosts && hosts->empty()) {
             g.fail(n, "must list at least one host");
         }
         c.remote.hosts = g.required(n, std::move(hosts));
     },
     [](const ClientConfig& c) { return join(c.remote.hosts); }},
    {"remote.port",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.port = g.port(n).value_or(c.remote.port);
     },
     [](const ClientConfig& c) { return std::to_string(c.remote.port); }},
    {"remote.ca_cert_file",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.ca_cert_file = g.required(n, g.path(n));
     },
     [](const ClientConfig& c) { return c.remote.ca_cert_file; }},
    {"remote.server_name",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.server_name = g.parsed(n, parse_host);
     },
     [](const ClientConfig& c) { return c.remote.server_name.value_or(std::string()); }},
    {"remote.pin_sha256",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.pin_sha256 = g.parsed_list(n, parse_sha256_pin).value_or(c.remote.pin_sha256);
     },
     [](const ClientConfig& c) { return join(c.remote.pin_sha256); }},
    {"remote.heartbeat_period",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.heartbeat_period = g.millis(n, 100).value_or(c.remote.heartbeat_period);
     },
     [](const ClientConfig& c) { return print_ms(c.remote.heartbeat_period); }},
    {"remote.heartbeat_timeout",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.heartbeat_timeout = g.millis(n, 100).value_or(c.remote.heartbeat_timeout);
     },
     [](const ClientConfig& c) { return print_ms(c.remote.heartbeat_timeout); }},
    {"remote.connect_timeout",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.connect_timeout = g.millis(n, 100).value_or(c.remote.connect_timeout);
     },
     [](const ClientConfig& c) { return print_ms(c.remote.connect_timeout); }},
    {"remote.reconnect_max_delay",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.reconnect_max_delay = g.millis(n, 1000).value_or(c.remote.reconnect_max_delay);
     },
     [](const ClientConfig& c) { return print_ms(c.remote.reconnect_max_delay); }},
    {"remote.reconnect_stable_period",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.reconnect_stable_period =
             g.millis(n, 1000).value_or(c.remote.reconnect_stable_period);
     },
     [](const ClientConfig& c) { return print_ms(c.remote.reconnect_stable_period); }},
    {"remote.protocol",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.remote.protocol = g.integer(n, 1u, 2u).value_or(c.remote.protocol);
     },
     [](const ClientConfig& c) { return std::to_string(c.remote.protocol); }},
    {"route.fwmark",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.route.fwmark = g.integer(n, std::uint32_t{1}, kMaxU32).value_or(c.route.fwmark);
     },
     [](const ClientConfig& c) { return std::to_string(c.route.fwmark); }},
    {"route.table",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.route.table = g.integer(n, std::uint32_t{1}, kMaxU32).value_or(c.route.table);
         if (c.route.table >= kTableDefault && c.route.table <= kTableLocal) {
             g.fail(n, "must not be 253, 254 or 255, the default, main and local tables (got " +
                           std::to_string(c.route.table) + ")");
         }
     },
     [](const ClientConfig& c) { return std::to_string(c.route.table); }},
    // IPv6 entries and "default" print as written, then the IPv4 ones in
    // canonical form (enftun-setup hands each to `ip route`).
    {"route.prefixes",
     [](const Group& g, const char* n, ClientConfig& c) {
         auto entries = g.parsed_list(n, parse_route_prefix);
         if (!entries) {
             return;
         }
         c.route.prefixes.clear();
         for (auto& e : *entries) {
             if (auto* v4 = std::get_if<proto::Ipv4Prefix>(&e)) {
                 c.route.ipv4_prefixes.push_back(*v4);
             } else {
                 c.route.prefixes.push_back(std::move(std::get<Prefix>(e)));
             }
         }
     },
     [](const ClientConfig& c) {
         std::vector<std::string> texts;
         for (const auto& p : c.route.prefixes) {
             texts.push_back(p.text);
         }
         for (const auto& p : c.route.ipv4_prefixes) {
             texts.push_back(format_ipv4_prefix(p));
         }
         return join(texts);
     }},
    {"route.trusted_interfaces",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.route.trusted_interfaces =
             g.parsed_list(n, parse_ifname).value_or(c.route.trusted_interfaces);
     },
     [](const ClientConfig& c) { return join(c.route.trusted_interfaces); }},
    // Read after route.prefixes: an IPv4 prefix there needs it, wherever
    // the two keys stand in the file.
    {"route.allow_ipv4",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.route.allow_ipv4 = g.boolean(n).value_or(c.route.allow_ipv4);
         if (!c.route.allow_ipv4 && !c.route.ipv4_prefixes.empty()) {
             g.fail("prefixes", "the IPv4 prefix " +
                                    format_ipv4_prefix(c.route.ipv4_prefixes.front()) +
                                    " needs route.allow_ipv4 = true (IPv4 is blocked without it)");
         }
     },
     [](const ClientConfig& c) { return print_bool(c.route.allow_ipv4); }},
    {"route.ra_period",
     [](const Group& g, const char* n, ClientConfig& c) {
         if (auto v = g.int64(n, kMinRaPeriodMs, kMaxRaPeriodMs)) {
             c.route.ra_period = std::chrono::milliseconds(*v);
         }
     },
     [](const ClientConfig& c) { return print_ms(c.route.ra_period); }},
    {"identity.cert_file",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.identity.cert_file = g.required(n, g.path(n));
     },
     [](const ClientConfig& c) { return c.identity.cert_file; }},
    // With identity.tpm: a blob file, or a persistent handle
    // ("handle:0x81000001", or the original's "0x81000001").
    {"identity.key_file",
     [](const Group& g, const char* n, ClientConfig& c) {
         std::optional<std::string> handle;
         if (c.identity.tpm) {
             if (const auto text = g.string(n)) {
                 handle = persistent_handle_uri(*text);
             }
         }
         c.identity.key_file = handle ? *handle : g.required(n, g.path(n));
     },
     [](const ClientConfig& c) { return c.identity.key_file; }},
    {"identity.ip_file",
     [](const Group& g, const char* n, ClientConfig& c) { c.identity.ip_file = g.path(n); },
     [](const ClientConfig& c) { return c.identity.ip_file.value_or(std::string()); }},
    {"identity.duid_file",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.identity.duid_file = g.path(n).value_or("");
         if (c.identity.duid_file.empty() && !c.identity.cert_file.empty()) {
             c.identity.duid_file =
                 (std::filesystem::path(c.identity.cert_file).parent_path() / "duid").string();
         }
     },
     [](const ClientConfig& c) { return c.identity.duid_file; }},
    // identity.tpm.*: as the original printed them (enable 0 or 1, handles
    // in decimal); without the group, the defaults it would have. hierarchy
    // and parent were integers there; a hexadecimal libconfig literal above
    // 0x7fffffff is an int64, so the range is checked here.
    {"identity.tpm.enable", nullptr,
     [](const ClientConfig& c) { return std::string(c.identity.tpm ? "1" : "0"); }, Row::PrintOnly},
    {"identity.tpm.tcti",
     [](const Group& g, const char* n, ClientConfig& c) {
         tpm_in(c).tcti = g.parsed(n, parse_tcti).value_or(tpm_in(c).tcti);
     },
     [](const ClientConfig& c) { return std::string(tcti_name(tpm_of(c).tcti)); }},
    {"identity.tpm.device",
     [](const Group& g, const char* n, ClientConfig& c) {
         tpm_in(c).device = g.path(n).value_or(tpm_in(c).device);
     },
     [](const ClientConfig& c) { return tpm_of(c).device; }},
    {"identity.tpm.socket_host",
     [](const Group& g, const char* n, ClientConfig& c) {
         tpm_in(c).socket_host = g.parsed(n, parse_host).value_or(tpm_in(c).socket_host);
     },
     [](const ClientConfig& c) { return tpm_of(c).socket_host; }},
    {"identity.tpm.socket_port",
     [](const Group& g, const char* n, ClientConfig& c) {
         tpm_in(c).socket_port = g.port(n).value_or(tpm_in(c).socket_port);
     },
     [](const ClientConfig& c) { return std::to_string(tpm_of(c).socket_port); }},
    {"identity.tpm.hierarchy",
     [](const Group& g, const char* n, ClientConfig& c) {
         if (const auto h = g.int64(n, 0, kMaxU32)) {
             if (*h != 0 && *h != kOwnerHierarchy) {
                 g.fail(n, "only the owner hierarchy is supported (0 or 0x40000001, the tpm2 "
                           "provider's parent for new keys)");
             }
             tpm_in(c).hierarchy = static_cast<std::uint32_t>(*h);
         }
     },
     [](const ClientConfig& c) { return std::to_string(tpm_of(c).hierarchy); }},
    {"identity.tpm.password",
     [](const Group& g, const char* n, ClientConfig& c) { tpm_in(c).password = g.string(n); },
     [](const ClientConfig& c) { return tpm_of(c).password.value_or(std::string()); }},
    {"identity.tpm.parent",
     [](const Group& g, const char* n, ClientConfig& c) {
         if (const auto p = g.int64(n, 0, kMaxU32)) {
             if (*p != 0 && (*p < kPersistentFirst || *p > kPersistentLast)) {
                 g.fail(n, "must be 0 (a primary key of the owner hierarchy) or a persistent "
                           "handle 0x81000000..0x81ffffff");
             }
             tpm_in(c).parent = static_cast<std::uint32_t>(*p);
         }
     },
     [](const ClientConfig& c) { return std::to_string(tpm_of(c).parent); }},
    // enroll.url: where enftun-keygen finds enftun-enroll.
    {"enroll.url",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.enroll.url = g.parsed(n, parse_enroll_url);
     },
     [](const ClientConfig& c) { return c.enroll.url.value_or(std::string()); }},
    {"log.level",
     [](const Group& g, const char* n, ClientConfig& c) {
         c.log.level = g.parsed(n, parse_log_level).value_or(c.log.level);
     },
     [](const ClientConfig& c) { return std::string(log::level_name(c.log.level)); }},
};

// The original enftun's names for keys we print under another name, so
// that its scripts' `enftun -p OLD` calls keep working.
struct KeyAlias {
    std::string_view old_name;
    std::string_view key;
};
const KeyAlias kAliases[] = {
    {"tun.ip_set", "tun.set_address"},
};

// Keys whose value is a secret: print_client_key() redacts them unless
// asked (Secrets::Show).
constexpr std::string_view kSecretKeys[] = {"identity.tpm.password"};

// Keys and groups the file may hold that have no printer: the original
// enftun's (read in the row tun.set_address and by load()) and the group
// identity.tpm, whose presence prints as identity.tpm.enable.
constexpr std::string_view kLegacyKeys[] = {"tun.ip_set", "tun.ip_path", "identity.tpm",
                                            "identity.xtt"};

// The last part of key if the rest is group ("tun" and "tun.mtu": "mtu").
std::optional<std::string_view> member_of(std::string_view group, std::string_view key) {
    if (key.size() <= group.size() + 1 || key.substr(0, group.size()) != group ||
        key[group.size()] != '.') {
        return std::nullopt;
    }
    const std::string_view name = key.substr(group.size() + 1);
    if (name.find('.') != std::string_view::npos) {
        return std::nullopt;
    }
    return name;
}

std::vector<std::string_view> make_known_keys(std::string_view group) {
    std::vector<std::string_view> names;
    for (const auto& k : kKeys) {
        if (const auto name = member_of(group, k.key); name && k.row == Row::Setting) {
            names.push_back(*name);
        }
    }
    for (const std::string_view key : kLegacyKeys) {
        if (const auto name = member_of(group, key)) {
            names.push_back(*name);
        }
    }
    return names;
}

void read_keys(const Group& g, std::string_view group, ClientConfig& c) {
    for (const auto& k : kKeys) {
        // A leaf of a literal key: still NUL-terminated.
        if (const auto name = member_of(group, k.key); name && k.read != nullptr) {
            k.read(g, name->data(), c);
        }
    }
}

detail::KeyNames known_keys(std::string_view group) {
    static const std::vector<std::string_view> kGroups[] = {
        make_known_keys("tun"),      make_known_keys("remote"),       make_known_keys("route"),
        make_known_keys("identity"), make_known_keys("identity.tpm"), make_known_keys("enroll"),
        make_known_keys("log"),
    };
    static constexpr std::string_view kNames[] = {"tun",          "remote", "route", "identity",
                                                  "identity.tpm", "enroll", "log"};
    for (std::size_t i = 0; i < std::size(kNames); ++i) {
        if (kNames[i] == group) {
            return kGroups[i];
        }
    }
    return {};
}

} // namespace

const char* tcti_name(TpmConfig::Tcti tcti) {
    switch (tcti) {
    case TpmConfig::Tcti::Device:
        return "device";
    case TpmConfig::Tcti::Socket:
        return "socket";
    case TpmConfig::Tcti::Swtpm:
        return "swtpm";
    }
    return "device";
}

std::string default_control_socket(std::string_view dev) {
    return "/run/enftun/" + std::string(dev) + ".sock";
}

std::string default_backoff_file(std::string_view control_socket, std::string_view dev) {
    if (control_socket.empty()) {
        return "/run/enftun/" + std::string(dev) + ".backoff";
    }
    std::string_view stem = control_socket;
    if (stem.ends_with(".sock")) {
        stem.remove_suffix(5);
    }
    return std::string(stem) + ".backoff";
}

Result<ClientConfig, ConfigError> load_client_config(const std::string& path) {
    auto c = detail::load_file<ClientConfig>(path, load);
    // The password authorizes the TPM-held key: in a file every user may
    // read it is anyone's (key files so readable are refused outright; a
    // config is read by more tools, so this warns).
    struct stat st {};
    if (c && c->identity.tpm && c->identity.tpm->password && !c->identity.tpm->password->empty() &&
        ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        c->warnings.push_back(path +
                              ": identity.tpm.password is in a file every user may read (mode " +
                              mode + "): make it 0640, in the service's group");
    }
    return c;
}

Result<ClientConfig, ConfigError> load_client_config_from_string(const std::string& text,
                                                                 const std::string& base_dir,
                                                                 const std::string& source_name) {
    return detail::load_text<ClientConfig>(text, base_dir, source_name, load);
}

Result<std::string, ConfigError> print_client_key(const ClientConfig& config, std::string_view key,
                                                  Secrets secrets) {
    const std::string_view asked = key;
    for (const auto& a : kAliases) {
        if (a.old_name == key) {
            key = a.key;
        }
    }
    for (const auto& k : kKeys) {
        if (k.key == key) {
            std::string value = k.print(config);
            const bool secret = std::find(std::begin(kSecretKeys), std::end(kSecretKeys), key) !=
                                std::end(kSecretKeys);
            if (secret && secrets == Secrets::Redact && !value.empty()) {
                return std::string(kRedacted);
            }
            return value;
        }
    }
    return ConfigError{"unknown key: " + std::string(asked)};
}

Result<std::string, ConfigError> print_all_client_keys(const ClientConfig& config,
                                                       Secrets secrets) {
    std::string out;
    for (const auto key : client_key_names()) {
        auto value = print_client_key(config, key, secrets);
        if (!value) {
            return value.error();
        }
        if (value->find_first_of("\r\n") != std::string::npos) {
            return ConfigError{std::string(key) + ": value holds a newline"};
        }
        out.append(key).append("=").append(*value).append("\n");
    }
    return out;
}

std::span<const std::string_view> client_key_names() {
    static const auto names = [] {
        std::vector<std::string_view> v;
        for (const auto& k : kKeys) {
            v.push_back(k.key);
        }
        return v;
    }();
    return names;
}

} // namespace enftun::config
