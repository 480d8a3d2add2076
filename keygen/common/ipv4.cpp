#include "common/ipv4.hpp"

#include "common/printable.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace enftun::keygen {

namespace {

// A pool needs room for one address besides network and broadcast; a
// shorter prefix than /8 would span ranges that are not unicast.
constexpr unsigned kMinPoolLen = 8;
constexpr unsigned kMaxPoolLen = 30;

std::uint32_t mask_of(unsigned len) {
    return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}

} // namespace

std::uint32_t ipv4_to_u32(const proto::Ipv4Addr& addr) {
    return std::uint32_t{addr[0]} << 24 | std::uint32_t{addr[1]} << 16 |
           std::uint32_t{addr[2]} << 8 | addr[3];
}

proto::Ipv4Addr ipv4_from_u32(std::uint32_t v) {
    return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
            static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

std::string format_ipv4(const proto::Ipv4Addr& a) {
    return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
           std::to_string(a[3]);
}

Outcome<proto::Ipv4Addr> parse_ipv4_addr(std::string_view text) {
    proto::Ipv4Addr addr{};
    // inet_pton needs a terminated string; 15 characters is the longest quad.
    const std::string s(text.substr(0, 16));
    if (text.size() > 15 || s.find('\0') != std::string::npos ||
        ::inet_pton(AF_INET, s.c_str(), addr.data()) != 1) {
        return Failure{printable(text, 64) + " is not an IPv4 address"};
    }
    return addr;
}

std::string Ipv4Request::to_string() const {
    return kind == Kind::Auto ? "auto" : format_ipv4(addr);
}

Outcome<Ipv4Request> parse_ipv4_request(std::string_view text) {
    if (text == "auto") {
        return Ipv4Request{};
    }
    const std::string shown = printable(text, 64);
    if (text.find('/') != std::string_view::npos) {
        return Failure{shown + ": give one IPv4 address or \"auto\", not a prefix"};
    }
    auto addr = parse_ipv4_addr(text);
    if (!addr) {
        return Failure{shown + " is not an IPv4 address or \"auto\""};
    }
    if (!proto::is_routable_unicast(*addr)) {
        return Failure{shown + " is not a routable unicast IPv4 address"};
    }
    return Ipv4Request{Ipv4Request::Kind::Exact, *addr};
}

bool ipv4_request_satisfied_by(const Ipv4Request& request, const proto::Ipv4Addr& addr) {
    if (!proto::is_routable_unicast(addr)) {
        return false;
    }
    return request.kind == Ipv4Request::Kind::Auto || addr == request.addr;
}

std::uint32_t Ipv4Prefix::first() const {
    return ipv4_to_u32(addr) & mask_of(len);
}

std::uint32_t Ipv4Prefix::last() const {
    return first() | ~mask_of(len);
}

bool Ipv4Prefix::contains(const proto::Ipv4Addr& a) const {
    return (ipv4_to_u32(a) & mask_of(len)) == first();
}

std::string Ipv4Prefix::to_string() const {
    return format_ipv4(addr) + "/" + std::to_string(len);
}

Outcome<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) {
    const std::string shown = printable(text, 64);
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return Failure{shown + " is not an IPv4 prefix such as 198.18.0.0/24"};
    }
    auto addr = parse_ipv4_addr(text.substr(0, slash));
    const std::string_view len_text = text.substr(slash + 1);
    unsigned len = 0;
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (!addr || len_text.empty() || ec != std::errc() ||
        end != len_text.data() + len_text.size() || len > 32) {
        return Failure{shown + " is not an IPv4 prefix such as 198.18.0.0/24"};
    }
    if (len < kMinPoolLen || len > kMaxPoolLen) {
        return Failure{shown + ": the prefix length must be from 8 to 30"};
    }
    const Ipv4Prefix prefix{*addr, len};
    if (prefix.first() != ipv4_to_u32(*addr)) {
        return Failure{shown + ": bits set after the /" + std::to_string(len)};
    }
    if (!proto::is_routable_unicast(*addr)) {
        return Failure{shown + " is not routable unicast address space"};
    }
    return prefix;
}

std::string device_san(const proto::Ipv6Addr& addr, const std::optional<proto::Ipv4Addr>& ipv4) {
    std::string san = "IP:" + addr.to_string();
    if (ipv4) {
        san += ",IP:" + format_ipv4(*ipv4);
    }
    return san;
}

} // namespace enftun::keygen
