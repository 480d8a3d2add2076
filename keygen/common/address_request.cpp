#include "common/address_request.hpp"

#include "common/printable.hpp"

#include <charconv>

namespace enftun::keygen {

namespace {

constexpr unsigned kRequestPrefixLen = 64;

bool host_bits_clear(const proto::Ipv6Addr& addr, unsigned len) {
    for (unsigned bit = len; bit < 128; ++bit) {
        if ((addr.bytes[bit / 8] >> (7 - bit % 8) & 1) != 0) {
            return false;
        }
    }
    return true;
}

} // namespace

bool prefix_contains(const proto::Ipv6Addr& prefix, unsigned len, const proto::Ipv6Addr& addr) {
    for (unsigned bit = 0; bit < len && bit < 128; ++bit) {
        const unsigned shift = 7 - bit % 8;
        if ((prefix.bytes[bit / 8] >> shift & 1) != (addr.bytes[bit / 8] >> shift & 1)) {
            return false;
        }
    }
    return true;
}

std::string AddressRequest::to_string() const {
    switch (kind) {
    case Kind::Auto:
        return "auto";
    case Kind::Exact:
        return addr.to_string();
    case Kind::Prefix64:
        return addr.to_string() + "/64";
    }
    return "auto";
}

Outcome<AddressRequest> parse_address_request(std::string_view text) {
    if (text == "auto") {
        return AddressRequest{};
    }
    const std::string shown = printable(text);
    const auto slash = text.find('/');
    const auto addr = proto::Ipv6Addr::parse(text.substr(0, slash));
    if (!addr) {
        return Failure{shown + " is not an IPv6 address, a /64 or \"auto\""};
    }
    if (addr->is_unspecified() || addr->is_multicast() || addr->is_link_local()) {
        return Failure{shown + " is not a global or unique-local unicast address"};
    }
    if (slash == std::string_view::npos) {
        return AddressRequest{AddressRequest::Kind::Exact, *addr};
    }
    const std::string_view len_text = text.substr(slash + 1);
    unsigned len = 0;
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty() ||
        len > 128) {
        return Failure{shown + ": the prefix length must be a number from 0 to 128"};
    }
    if (len != kRequestPrefixLen) {
        return Failure{shown + ": only a /64 can be requested"};
    }
    if (!host_bits_clear(*addr, len)) {
        return Failure{shown + ": bits set after the /64"};
    }
    return AddressRequest{AddressRequest::Kind::Prefix64, *addr};
}

bool request_satisfied_by(const AddressRequest& request, const proto::Ipv6Addr& addr) {
    switch (request.kind) {
    case AddressRequest::Kind::Auto:
        return true;
    case AddressRequest::Kind::Exact:
        return addr == request.addr;
    case AddressRequest::Kind::Prefix64:
        return prefix_contains(request.addr, kRequestPrefixLen, addr);
    }
    return false;
}

} // namespace enftun::keygen
