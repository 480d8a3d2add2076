// Ipv6Addr: 16 bytes in network order, a value type with text conversion.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enftun::proto {

struct Ipv6Addr {
    std::array<std::uint8_t, 16> bytes{};

    friend bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;

    // Parses RFC 4291 text form ("fd00:1::5"); nullopt if it is not one.
    static std::optional<Ipv6Addr> parse(std::string_view text);
    std::string to_string() const;

    bool is_unspecified() const;
    bool is_multicast() const { return bytes[0] == 0xff; }
    bool is_link_local() const { return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
};

// fe80::1, the router's link-local address inside the tunnel (PROTOCOL.md).
inline constexpr Ipv6Addr kRouterLinkLocal{
    {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};

} // namespace enftun::proto
