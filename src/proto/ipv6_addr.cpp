#include "enftun/proto/ipv6_addr.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace enftun::proto {

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
    // inet_pton needs a NUL-terminated string; an IPv6 text address is at
    // most INET6_ADDRSTRLEN - 1 characters.
    char buf[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buf) {
        return std::nullopt;
    }
    std::copy(text.begin(), text.end(), buf);
    buf[text.size()] = '\0';
    Ipv6Addr addr;
    if (inet_pton(AF_INET6, buf, addr.bytes.data()) != 1) {
        return std::nullopt;
    }
    return addr;
}

std::string Ipv6Addr::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

bool Ipv6Addr::is_unspecified() const {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

} // namespace enftun::proto
