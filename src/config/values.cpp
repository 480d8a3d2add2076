#include "enftun/config/values.hpp"

#include "enftun/util/hex.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <utility>

namespace enftun::config {

namespace {

// IFNAMSIZ (16) counts the terminating NUL.
constexpr std::size_t kMaxIfnameLen = 15;
constexpr unsigned kIpv6Bits = 128;
// RFC 1035 section 2.3.4 and RFC 1123 section 2.1: a name of at most 253
// characters in text form, labels of 1 to 63.
constexpr std::size_t kMaxHostNameLen = 253;
constexpr std::size_t kMaxLabelLen = 63;
constexpr std::size_t kSha256HexLen = 64;

bool is_space_or_cntrl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

// A NUL would end the C string that inet_pton() sees and hide what follows.
bool has_nul(std::string_view text) {
    return text.find('\0') != std::string_view::npos;
}

// RFC 1123 section 2.1: letters, digits and hyphens, not starting or
// ending with a hyphen (a leading digit is allowed).
bool is_host_label(std::string_view label) {
    if (label.empty() || label.size() > kMaxLabelLen || label.front() == '-' ||
        label.back() == '-') {
        return false;
    }
    return std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
    });
}

// Decimal digits only (no sign, no spaces), at most max_digits of them.
std::optional<unsigned long> parse_digits(std::string_view text, std::size_t max_digits) {
    if (text.empty() || text.size() > max_digits) {
        return std::nullopt;
    }
    unsigned long v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    return v;
}

// True if any bit at or beyond position len (counting from the most
// significant bit) is set.
bool has_host_bits(const proto::Ipv6Addr& addr, unsigned len) {
    for (unsigned bit = len; bit < kIpv6Bits; ++bit) {
        if ((addr.bytes[bit / 8] >> (7 - bit % 8)) & 1U) {
            return true;
        }
    }
    return false;
}

} // namespace

ValueResult<std::string> parse_ifname(std::string_view text) {
    // net/core/dev.c dev_valid_name(): '/' would escape /sys/class/net and
    // ':' is the old alias separator.
    const bool bad_char = std::any_of(text.begin(), text.end(), [](char c) {
        return c == '/' || c == ':' || is_space_or_cntrl(c);
    });
    if (text.empty() || text.size() > kMaxIfnameLen || text == "." || text == ".." || bad_char) {
        return ValueError{"must be an interface name of 1 to 15 characters without '/', ':' or "
                          "whitespace (got \"" +
                          std::string(text) + "\")"};
    }
    return std::string(text);
}

ValueResult<MacAddr> parse_mac(std::string_view text) {
    const ValueError syntax{"must be a MAC address such as 02:00:00:00:00:01 (got \"" +
                            std::string(text) + "\")"};
    MacAddr mac{};
    if (text.size() != 3 * mac.size() - 1) {
        return syntax;
    }
    for (std::size_t i = 0; i < mac.size(); ++i) {
        const int hi = hex_digit_value(text[3 * i]);
        const int lo = hex_digit_value(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i + 1 < mac.size() && text[3 * i + 2] != ':')) {
            return syntax;
        }
        mac[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    // IEEE 802: the least significant bit of the first octet marks a group
    // address; the kernel's is_valid_ether_addr() refuses it and all-zero.
    if ((mac[0] & 1U) != 0 || std::all_of(mac.begin(), mac.end(), [](auto b) { return b == 0; })) {
        return ValueError{"must be a unicast, non-zero MAC address (got \"" + std::string(text) +
                          "\")"};
    }
    return mac;
}

std::string format_mac(const MacAddr& mac) {
    char buf[3 * 6];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

ValueResult<Prefix> parse_prefix(std::string_view text, bool allow_default) {
    if (allow_default && text == "default") {
        return Prefix::default_route();
    }
    const ValueError syntax{std::string("must be ") + (allow_default ? "\"default\" or " : "") +
                            "an IPv6 prefix such as fd00::/16 (got \"" + std::string(text) + "\")"};
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || has_nul(text)) {
        return syntax;
    }
    const auto addr = proto::Ipv6Addr::parse(text.substr(0, slash));
    const auto len = parse_digits(text.substr(slash + 1), 3);
    if (!addr || !len || *len > kIpv6Bits) {
        return syntax;
    }
    if (has_host_bits(*addr, static_cast<unsigned>(*len))) {
        return ValueError{"has address bits set beyond the prefix length (got \"" +
                          std::string(text) + "\")"};
    }
    // The length in plain decimal, as `ip` must read it: iproute2 takes
    // "/064" as octal (52). The address stays as written; inet_pton reads it
    // as we did.
    return Prefix{false, *addr, static_cast<std::uint8_t>(*len),
                  std::string(text.substr(0, slash)) + "/" + std::to_string(*len)};
}

ValueResult<proto::Ipv6Addr> parse_unicast_ipv6(std::string_view text) {
    const auto addr = proto::Ipv6Addr::parse(text);
    if (!addr || has_nul(text) || addr->is_unspecified() || addr->is_multicast()) {
        return ValueError{"must be a unicast IPv6 address such as fd00::1 (got \"" +
                          std::string(text) + "\")"};
    }
    return *addr;
}

ValueResult<std::string> parse_ip_literal(std::string_view text) {
    // inet_pton needs a NUL-terminated string; std::string provides one.
    const std::string s(text);
    unsigned char buf[sizeof(struct in6_addr)];
    if (has_nul(text) ||
        (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)) {
        return ValueError{"must be an IPv4 or IPv6 address (got \"" + s + "\")"};
    }
    return s;
}

ValueResult<std::string> parse_host(std::string_view text) {
    const ValueError syntax{"must be an IP address or a host name of letters, digits, '-' and "
                            "'.' (RFC 1123) (got " +
                            quote_for_message(text) + ")"};
    if (has_nul(text)) {
        return syntax;
    }
    const std::string s(text);
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        return s;
    }
    if (text.empty() || text.size() > kMaxHostNameLen) {
        return syntax;
    }
    std::string_view last_label;
    for (std::string_view rest = text; !rest.empty();) {
        const auto dot = rest.find('.');
        const std::string_view label = rest.substr(0, dot);
        if (!is_host_label(label)) {
            return syntax;
        }
        last_label = label;
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        if (dot != std::string_view::npos && rest.empty()) {
            return syntax; // "name." : an empty last label
        }
    }
    // RFC 3696 section 2: a top-level label is never all digits, and
    // getaddrinfo() would read "10.1" or "0x7f.1" as an IPv4 address.
    if (std::all_of(last_label.begin(), last_label.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
        return syntax;
    }
    return s;
}

std::string quote_for_message(std::string_view text) {
    constexpr std::size_t kMaxShown = 80;
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\') {
            char esc[5];
            std::snprintf(esc, sizeof esc, "\\x%02x", u);
            out += esc;
        } else {
            out += static_cast<char>(u);
        }
    }
    out += text.size() > kMaxShown ? "\"..." : "\"";
    return out;
}

ValueResult<log::Level> parse_log_level(std::string_view text) {
    if (auto level = log::parse_level(text)) {
        return *level;
    }
    return ValueError{"must be \"error\", \"warning\", \"info\" or \"debug\" (got " +
                      quote_for_message(text) + ")"};
}

ValueResult<std::string> parse_sha256_pin(std::string_view text) {
    std::string out;
    for (char c : text) {
        const int v = hex_digit_value(c);
        if (v < 0) {
            break;
        }
        out += "0123456789abcdef"[v];
    }
    if (text.size() != kSha256HexLen || out.size() != kSha256HexLen) {
        return ValueError{"must be a SHA-256 digest in 64 hex digits (got " +
                          quote_for_message(text) + ")"};
    }
    return out;
}

ValueResult<proto::Ipv4Addr> parse_ipv4(std::string_view text) {
    const std::string s(text);
    proto::Ipv4Addr addr{};
    if (has_nul(text) || inet_pton(AF_INET, s.c_str(), addr.data()) != 1 ||
        std::all_of(addr.begin(), addr.end(), [](auto b) { return b == 0; })) {
        return ValueError{"must be an IPv4 address such as 198.18.0.2 (got " +
                          quote_for_message(text) + ")"};
    }
    return addr;
}

std::string format_ipv4(const proto::Ipv4Addr& a) {
    return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
           std::to_string(a[3]);
}

ValueResult<proto::Ipv4Prefix> parse_ipv4_prefix(std::string_view text) {
    constexpr unsigned kIpv4Bits = 32;
    const ValueError syntax{"must be an IPv4 prefix such as 198.18.0.0/16 (got " +
                            quote_for_message(text) + ")"};
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || has_nul(text)) {
        return syntax;
    }
    const std::string addr_text(text.substr(0, slash));
    proto::Ipv4Prefix prefix;
    const auto len = parse_digits(text.substr(slash + 1), 2);
    if (inet_pton(AF_INET, addr_text.c_str(), prefix.addr.data()) != 1 || !len ||
        *len > kIpv4Bits) {
        return syntax;
    }
    prefix.len = static_cast<std::uint8_t>(*len);
    // No bit of the address beyond len may be set (a typo such as /8 for /24).
    for (unsigned bit = prefix.len; bit < kIpv4Bits; ++bit) {
        if ((prefix.addr[bit / 8] >> (7 - bit % 8) & 1) != 0) {
            return ValueError{"has address bits set beyond the prefix length (got " +
                              quote_for_message(text) + ")"};
        }
    }
    return prefix;
}

std::string format_ipv4_prefix(const proto::Ipv4Prefix& p) {
    return format_ipv4(p.addr) + "/" + std::to_string(p.len);
}

ValueResult<RoutePrefix> parse_route_prefix(std::string_view text) {
    if (text == "default" || text.find(':') != std::string_view::npos) {
        auto v6 = parse_prefix(text, true);
        if (!v6) {
            return v6.error();
        }
        return RoutePrefix(std::move(*v6));
    }
    if (text.find('.') != std::string_view::npos) {
        auto v4 = parse_ipv4_prefix(text);
        if (!v4) {
            return v4.error();
        }
        return RoutePrefix(*v4);
    }
    return ValueError{"must be \"default\", an IPv6 prefix such as fd00::/16 or an IPv4 prefix "
                      "such as 198.18.0.0/16 (got " +
                      quote_for_message(text) + ")"};
}

ValueResult<std::uint16_t> parse_port(std::string_view text) {
    const auto v = parse_digits(text, 5);
    if (!v || *v < 1 || *v > 65535) {
        return ValueError{"must be a port number between 1 and 65535 (got \"" + std::string(text) +
                          "\")"};
    }
    return static_cast<std::uint16_t>(*v);
}

ValueResult<std::string> resolve_path(std::string_view base_dir, std::string_view path) {
    if (path.empty()) {
        return ValueError{"must not be empty"};
    }
    const std::filesystem::path p(path);
    if (p.is_absolute() || base_dir.empty()) {
        return p.string();
    }
    // No lexical normalisation: "a/../b" must mean what the kernel makes of
    // it when "a" is a symlink.
    return (std::filesystem::path(base_dir) / p).string();
}

} // namespace enftun::config
