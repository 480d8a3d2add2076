// Version-2 framing (PROTOCOL.md "Framing (version 2)"): a 4-byte header
// (type, 24-bit big-endian length), then either one IP packet (PACKET) or
// 10 bytes of segmentation metadata and a TCP or UDP super-packet of up to 64 KiB
// (GSO). This module owns the header and metadata codecs and the validation
// of a super-packet against its metadata: everything a receiver checks
// before it uses a byte of a GSO frame. Pure code: no syscalls.
//
// Lifetime: spans in a FrameV2 point into the caller's buffer.
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace enftun::framing {

constexpr std::size_t kV2HeaderLen = 4;
constexpr std::size_t kGsoMetaLen = 10;
constexpr std::uint8_t kFrameTypePacket = 0;
constexpr std::uint8_t kFrameTypeGso = 1;
// Largest super-packet: an IPv6 packet with a 65535-byte payload.
constexpr std::size_t kMaxSuperPacket = 65535 + 40;
constexpr std::size_t kMaxV2Body = kGsoMetaLen + kMaxSuperPacket;
// Room for the largest version-2 frame of either type.
constexpr std::size_t kMaxV2Frame = kV2HeaderLen + kMaxV2Body;

// GSO types: the virtio-net values (linux/virtio_net.h).
constexpr std::uint8_t kGsoTypeTcpV4 = 1;
constexpr std::uint8_t kGsoTypeTcpV6 = 4;
constexpr std::uint8_t kGsoTypeUdpL4 = 5; // UDP, either IP version (never with ECN)
constexpr std::uint8_t kGsoTypeEcn = 0x80;
// Most datagrams in one UDP super-packet: Linux's UDP_MAX_SEGMENTS (128
// since 6.10), so a peer's kernel never makes more and ours takes them.
constexpr std::size_t kMaxUdpSegments = 128;
// The checksum state PROTOCOL.md allows: partial (pseudo-header sum only).
constexpr std::uint8_t kCsumPartial = 1;

struct GsoMeta {
    std::uint8_t gso_type = 0; // kGsoTypeTcpV4/V6, maybe | kGsoTypeEcn; kGsoTypeUdpL4
    std::uint8_t csum = kCsumPartial;
    std::uint16_t hdr_len = 0;     // IP + TCP (or UDP) headers
    std::uint16_t gso_size = 0;    // payload bytes per segment
    std::uint16_t csum_start = 0;  // transport header offset
    std::uint16_t csum_offset = 0; // checksum field in it (TCP 16, UDP 6)
};

struct FrameV2 {
    Bytes packet;               // the IP packet or super-packet
    std::optional<GsoMeta> gso; // set for a GSO frame
    std::size_t consumed = 0;   // header + body: where the next frame starts
};

// Parses the version-2 frame at the start of buf. nullopt while buf holds
// less than a whole frame. max_payload: the largest plain packet (and
// segment: hdr_len + gso_size) accepted, 1..65535. Errors (protocol
// errors; Malformed, each with PROTOCOL.md's text): unknown frame type,
// zero-length frame, frame longer than maximum (both checked from the
// header alone), frame is not an IP packet, and every check_gso_packet error.
[[nodiscard]] Result<std::optional<FrameV2>> parse_frame_v2(Bytes buf, std::size_t max_payload);

// Validates a super-packet against its metadata (PROTOCOL.md's table):
// known type matching the IP version, checksum state, IP and TCP (or UDP:
// its length the packet's) headers, csum_start/csum_offset/hdr_len agreeing
// with them, 1 <= gso_size and hdr_len + gso_size <= max_payload (UDP: at
// most kMaxUdpSegments datagrams), a payload, size within kMaxSuperPacket.
// Errors: Malformed.
[[nodiscard]] Status check_gso_packet(Bytes pkt, const GsoMeta& meta, std::size_t max_payload);

// The metadata for a TCP or UDP super-packet the local kernel handed out, from
// its own headers (the kernel's hdr_len is only a hint): gso_type (the
// ECN bit kept) and gso_size as given. Errors: those of check_gso_packet,
// so a packet this refuses is one the caller splits instead.
[[nodiscard]] Result<GsoMeta> gso_meta_for(Bytes pkt, std::uint8_t gso_type, std::uint16_t gso_size,
                                           std::size_t max_payload);

// How many packets a validated super-packet of pkt_len bytes stands for
// (its segments): for counters and policies that count packets.
inline std::size_t gso_segments(std::size_t pkt_len, const GsoMeta& meta) {
    return (pkt_len - meta.hdr_len + meta.gso_size - 1) / meta.gso_size;
}

// Writes a frame header into at[0..4): body_len 1..kMaxV2Body.
void write_v2_header(MutBytes at, std::uint8_t type, std::size_t body_len);
// Writes the 10 metadata bytes into at[0..10).
void write_gso_meta(MutBytes at, const GsoMeta& meta);
// Reads them back (no validation: check_gso_packet does that).
GsoMeta read_gso_meta(Bytes at);

} // namespace enftun::framing
