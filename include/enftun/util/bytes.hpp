// Big-endian loads and stores over byte spans. Built on shifts, so they are
// alignment-safe: packet bytes are never cast to wider types. Callers check
// bounds first (parsers validate lengths before reading fields); the asserts
// catch a broken invariant in debug builds.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

namespace enftun {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

inline std::uint8_t load_u8(Bytes s, std::size_t off) {
    assert(off < s.size());
    return s[off];
}

inline std::uint16_t load_be16(Bytes s, std::size_t off) {
    assert(off + 2 <= s.size());
    return static_cast<std::uint16_t>((s[off] << 8) | s[off + 1]);
}

inline std::uint32_t load_be32(Bytes s, std::size_t off) {
    assert(off + 4 <= s.size());
    return (std::uint32_t{s[off]} << 24) | (std::uint32_t{s[off + 1]} << 16) |
           (std::uint32_t{s[off + 2]} << 8) | std::uint32_t{s[off + 3]};
}

inline void store_u8(MutBytes s, std::size_t off, std::uint8_t v) {
    assert(off < s.size());
    s[off] = v;
}

inline void store_be16(MutBytes s, std::size_t off, std::uint16_t v) {
    assert(off + 2 <= s.size());
    s[off] = static_cast<std::uint8_t>(v >> 8);
    s[off + 1] = static_cast<std::uint8_t>(v);
}

inline void store_be32(MutBytes s, std::size_t off, std::uint32_t v) {
    assert(off + 4 <= s.size());
    s[off] = static_cast<std::uint8_t>(v >> 24);
    s[off + 1] = static_cast<std::uint8_t>(v >> 16);
    s[off + 2] = static_cast<std::uint8_t>(v >> 8);
    s[off + 3] = static_cast<std::uint8_t>(v);
}

} // namespace enftun
