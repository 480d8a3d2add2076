#include "request.hpp"

#include <algorithm>
#include <charconv>

namespace enftun::keygen {

namespace {

constexpr unsigned kPrefixBits = 64;
constexpr std::size_t kPrefixBytes = kPrefixBits / 8;

bool is_loopback(const proto::Ipv6Addr& a) {
    return std::all_of(a.bytes.begin(), a.bytes.end() - 1, [](std::uint8_t b) { return b == 0; }) &&
           a.bytes[15] == 1;
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

Result<EnrollRequest, std::string> parse_prefix64(std::string_view text, std::size_t slash) {
    const auto addr = proto::Ipv6Addr::parse(text.substr(0, slash));
    if (!addr) {
        return "not an IPv6 prefix: " + quoted(text) + " (the part before '/' is not an IPv6 " +
               "address)";
    }
    const auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size()) {
        return "not an IPv6 prefix: " + quoted(text) + " (the length is not a number)";
    }
    if (len != kPrefixBits) {
        return "prefix " + quoted(text) + " is a /" + std::string(len_text) +
               ": only a /64 can be requested";
    }
    if (std::any_of(addr->bytes.begin() + kPrefixBytes, addr->bytes.end(),
                    [](std::uint8_t b) { return b != 0; })) {
        return "prefix " + quoted(text) + " has bits set past /64 (did you mean an address?)";
    }
    if (!is_device_address(*addr)) {
        return "prefix " + quoted(text) + " is not a unicast prefix a device can use";
    }
    return EnrollRequest{EnrollRequest::Kind::Prefix64, *addr, addr->to_string() + "/64"};
}

} // namespace

bool is_device_address(const proto::Ipv6Addr& addr) {
    return !addr.is_unspecified() && !addr.is_multicast() && !addr.is_link_local() &&
           !is_loopback(addr);
}

Result<EnrollRequest, std::string> parse_request(std::string_view text) {
    if (text == "auto") {
        return EnrollRequest{EnrollRequest::Kind::Auto, {}, "auto"};
    }
    if (text.find('\0') != std::string_view::npos) {
        return std::string("not an IPv6 address, a /64 prefix or \"auto\": holds a NUL byte");
    }
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        return parse_prefix64(text, slash);
    }
    const auto addr = proto::Ipv6Addr::parse(text);
    if (!addr) {
        return "not an IPv6 address, a /64 prefix or \"auto\": " + quoted(text);
    }
    if (!is_device_address(*addr)) {
        return "address " + quoted(text) +
               " cannot be a device's address (unspecified, loopback, link-local or multicast)";
    }
    return EnrollRequest{EnrollRequest::Kind::Exact, *addr, addr->to_string()};
}

bool satisfies(const EnrollRequest& req, const proto::Ipv6Addr& addr) {
    if (!is_device_address(addr)) {
        return false;
    }
    switch (req.kind) {
    case EnrollRequest::Kind::Auto:
        return true;
    case EnrollRequest::Kind::Prefix64:
        return std::equal(addr.bytes.begin(), addr.bytes.begin() + kPrefixBytes,
                          req.addr.bytes.begin());
    case EnrollRequest::Kind::Exact:
        return addr == req.addr;
    }
    return false;
}

std::string default_server_url(const std::string& host) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return "https://" + (ipv6 ? "[" + host + "]" : host) + ":8443";
}

} // namespace enftun::keygen
