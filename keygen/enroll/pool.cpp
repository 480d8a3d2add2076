#include "enroll/pool.hpp"

#include <algorithm>

namespace enftun::enroll {

namespace {

// Random probes before giving up on a prefix too large to scan.
constexpr unsigned kRandomProbes = 256;
// Prefixes with at most this many host bits are scanned in full once the
// random probes failed, so a small pool is used up to its last address.
constexpr unsigned kScanHostBits = 16;

struct Range {
    proto::Ipv6Addr base;
    unsigned len;
};

// base with its host bits (after len) replaced by those of bits.
proto::Ipv6Addr with_host_bits(const proto::Ipv6Addr& base, unsigned len,
                               const proto::Ipv6Addr& bits) {
    proto::Ipv6Addr out = base;
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned first = i * 8;
        std::uint8_t host_mask = 0;
        if (first + 8 <= len) {
            host_mask = 0;
        } else if (first >= len) {
            host_mask = 0xff;
        } else {
            host_mask = static_cast<std::uint8_t>(0xff >> (len - first));
        }
        out.bytes[i] =
            static_cast<std::uint8_t>((base.bytes[i] & ~host_mask) | (bits.bytes[i] & host_mask));
    }
    return out;
}

// base + n, with n counting host addresses (n < 2^kScanHostBits).
proto::Ipv6Addr nth_in(const proto::Ipv6Addr& base, unsigned len, std::uint32_t n) {
    proto::Ipv6Addr bits{};
    bits.bytes[15] = static_cast<std::uint8_t>(n);
    bits.bytes[14] = static_cast<std::uint8_t>(n >> 8);
    bits.bytes[13] = static_cast<std::uint8_t>(n >> 16);
    return with_host_bits(base, len, bits);
}

bool is_anycast(const Range& r, const proto::Ipv6Addr& addr) {
    return r.len < 127 && addr == with_host_bits(r.base, r.len, proto::Ipv6Addr{});
}

bool is_reserved(const Pool& pool, const proto::Ipv6Addr& addr) {
    return std::find(pool.reserved.begin(), pool.reserved.end(), addr) != pool.reserved.end();
}

bool usable(const Pool& pool, const Range& r, const proto::Ipv6Addr& addr, const TakenFn& taken) {
    return !is_anycast(r, addr) && !is_reserved(pool, addr) && !taken(addr);
}

std::optional<proto::Ipv6Addr> pick_in(const Pool& pool, const Range& r, const TakenFn& taken,
                                       const RandomFn& random) {
    for (unsigned i = 0; i < kRandomProbes; ++i) {
        proto::Ipv6Addr bits;
        random(bits.bytes.data(), bits.bytes.size());
        const auto addr = with_host_bits(r.base, r.len, bits);
        if (usable(pool, r, addr, taken)) {
            return addr;
        }
    }
    const unsigned host_bits = 128 - r.len;
    if (host_bits > kScanHostBits) {
        return std::nullopt;
    }
    const std::uint32_t count = std::uint32_t{1} << host_bits;
    std::uint8_t start_bytes[4];
    random(start_bytes, sizeof start_bytes);
    const std::uint32_t start = (std::uint32_t{start_bytes[0]} << 8 | start_bytes[1]) % count;
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto addr = nth_in(r.base, r.len, (start + i) % count);
        if (usable(pool, r, addr, taken)) {
            return addr;
        }
    }
    return std::nullopt;
}

ApiError exhausted() {
    return ApiError{503, "address pool exhausted"};
}

ApiResult<proto::Ipv6Addr> allocate_auto(const Pool& pool, const TakenFn& taken,
                                         const RandomFn& random) {
    // Start at a random prefix, then try the others in turn, so a full
    // prefix does not make `auto` fail while another has room.
    const std::size_t n = pool.prefixes.size();
    std::uint8_t r[2];
    random(r, sizeof r);
    const std::size_t first = (std::size_t{r[0]} << 8 | r[1]) % n;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& p = pool.prefixes[(first + i) % n];
        if (auto addr = pick_in(pool, Range{p.addr, p.len}, taken, random)) {
            return *addr;
        }
    }
    return exhausted();
}

ApiResult<proto::Ipv6Addr> allocate_in_64(const Pool& pool, const proto::Ipv6Addr& base,
                                          const TakenFn& taken, const RandomFn& random) {
    const auto covering = std::find_if(pool.prefixes.begin(), pool.prefixes.end(), [&](auto& p) {
        return p.len <= 64 && keygen::prefix_contains(p.addr, p.len, base);
    });
    if (covering == pool.prefixes.end()) {
        return ApiError{403, base.to_string() + "/64 is not inside the address pool"};
    }
    if (auto addr = pick_in(pool, Range{base, 64}, taken, random)) {
        return *addr;
    }
    return exhausted();
}

ApiResult<proto::Ipv6Addr> allocate_exact(const Pool& pool, const proto::Ipv6Addr& addr,
                                          const TakenFn& taken) {
    const auto covering = std::find_if(pool.prefixes.begin(), pool.prefixes.end(), [&](auto& p) {
        return keygen::prefix_contains(p.addr, p.len, addr);
    });
    if (covering == pool.prefixes.end()) {
        return ApiError{403, "address " + addr.to_string() + " is not inside the address pool"};
    }
    if (is_anycast(Range{covering->addr, covering->len}, addr) || is_reserved(pool, addr)) {
        return ApiError{403, "address " + addr.to_string() + " is reserved"};
    }
    if (taken(addr)) {
        return ApiError{409, "address " + addr.to_string() + " is already enrolled"};
    }
    return addr;
}

} // namespace

bool in_pool(const Pool& pool, const proto::Ipv6Addr& addr) {
    return std::any_of(pool.prefixes.begin(), pool.prefixes.end(),
                       [&](auto& p) { return keygen::prefix_contains(p.addr, p.len, addr); });
}

ApiResult<proto::Ipv6Addr> allocate(const Pool& pool, const keygen::AddressRequest& request,
                                    const TakenFn& taken, const RandomFn& random) {
    if (pool.prefixes.empty()) {
        return exhausted();
    }
    switch (request.kind) {
    case keygen::AddressRequest::Kind::Auto:
        return allocate_auto(pool, taken, random);
    case keygen::AddressRequest::Kind::Prefix64:
        return allocate_in_64(pool, request.addr, taken, random);
    case keygen::AddressRequest::Kind::Exact:
        return allocate_exact(pool, request.addr, taken);
    }
    return exhausted();
}

} // namespace enftun::enroll
