// Typed configuration values and their text parsers, shared by the client and
// router configs. Pure functions: no I/O, no libconfig. Each parser returns the
// value or a ValueError whose reason completes the sentence "<key>: ...", e.g.
// "must be an IPv6 prefix such as fd00::/16".
#pragma once

#include "enftun/log/log.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace enftun::config {

// Any configuration failure. The message names the file, the line and the
// dotted key: "/etc/enftun/enf0.conf:12: tun.mtu: must be between 1280 and
// 65535 (got 100)".
struct ConfigError {
    std::string message;
};

// Why one value was rejected; the loader prefixes file, line and key.
struct ValueError {
    std::string reason;
};

template <typename T>
using ValueResult = Result<T, ValueError>;

// An IPv6 route prefix, or the keyword "default" (::/0, routed through the
// policy table by enftun-setup rather than as a plain ::/0 route).
struct Prefix {
    bool is_default = false;
    proto::Ipv6Addr addr{};
    std::uint8_t len = 0;
    std::string text; // as written, its length in plain decimal (parse_prefix), for -p

    static Prefix default_route() { return Prefix{true, {}, 0, "default"}; }
};

// An Ethernet (EUI-48) address in transmission order.
using MacAddr = std::array<std::uint8_t, 6>;

// Linux interface name: 1..15 bytes (IFNAMSIZ - 1), not "." or "..", and no
// '/', ':' or whitespace; the same rule as the kernel's dev_valid_name().
ValueResult<std::string> parse_ifname(std::string_view text);

// "aa:bb:cc:dd:ee:ff" (hex, either case). Rejects group (multicast) and
// all-zero addresses, which the kernel will not take as a link address.
ValueResult<MacAddr> parse_mac(std::string_view text);
std::string format_mac(const MacAddr& mac);

// "addr/len" with len 0..128 in decimal and no host bits set beyond len.
// "default" is accepted only when allow_default is set.
ValueResult<Prefix> parse_prefix(std::string_view text, bool allow_default);

// A unicast IPv6 literal: not unspecified (::) and not multicast (ff00::/8).
ValueResult<proto::Ipv6Addr> parse_unicast_ipv6(std::string_view text);

// An IPv4 or IPv6 literal, as inet_pton() reads it; returned unchanged.
ValueResult<std::string> parse_ip_literal(std::string_view text);

// A host to connect to: an IPv4 or IPv6 literal (inet_pton), or a host name
// per RFC 1123: labels of 1 to 63 letters, digits and hyphens (no hyphen
// first or last) joined by single dots, at most 253 characters, no trailing
// dot, and a last label that is not all digits. Nothing else: these strings
// reach resolvers, logs and enftun-setup's nftables rules.
ValueResult<std::string> parse_host(std::string_view text);

// text in double quotes for an error message, with control characters,
// quotes, backslashes and non-ASCII bytes as \xNN, cut at 80 characters:
// a hostile value cannot forge a second log line.
std::string quote_for_message(std::string_view text);

// A SHA-256 digest written as 64 hex digits, either case; returned in
// lower case.
ValueResult<std::string> parse_sha256_pin(std::string_view text);

// An IPv4 literal (dotted quad), not 0.0.0.0.
ValueResult<proto::Ipv4Addr> parse_ipv4(std::string_view text);
// "198.18.0.2".
std::string format_ipv4(const proto::Ipv4Addr& a);

// "a.b.c.d/len" with len 0..32 in decimal and no host bits set beyond len.
ValueResult<proto::Ipv4Prefix> parse_ipv4_prefix(std::string_view text);
// "198.18.0.0/16": the canonical text (no leading zeros in the length).
std::string format_ipv4_prefix(const proto::Ipv4Prefix& p);

// One entry of the client's route.prefixes: "default", an IPv6 prefix
// (parse_prefix) or an IPv4 prefix (parse_ipv4_prefix). Which family is
// told by the text (a ':' is IPv6, else a '.' is IPv4), so a malformed
// entry gets its own family's reason. The router's prefix keys do not take
// this: they stay single-family.
using RoutePrefix = std::variant<Prefix, proto::Ipv4Prefix>;
ValueResult<RoutePrefix> parse_route_prefix(std::string_view text);

// The `log` group of both configs: what the daemons log (log/log.hpp);
// each -v on the command line raises it one level.
struct LogConfig {
    log::Level level = log::Level::Info;
};

// log.level: "error", "warning", "info" or "debug" (log/log.hpp).
ValueResult<log::Level> parse_log_level(std::string_view text);

// A TCP port written as decimal digits, 1..65535.
ValueResult<std::uint16_t> parse_port(std::string_view text);

// A file path. Relative paths are joined to base_dir (the folder of the
// config file) unless base_dir is empty. Rejects the empty path.
ValueResult<std::string> resolve_path(std::string_view base_dir, std::string_view path);

} // namespace enftun::config
