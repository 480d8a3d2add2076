// Offload: the virtio-net header (linux/virtio_net.h) that a TUN opened with
// IFF_VNET_HDR puts before each packet, and the work a NIC would do for the
// offloads we enable with TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO6, and
// TUN_F_USO4 | TUN_F_USO6 where the kernel offers them):
//   - a packet flagged VIRTIO_NET_HDR_F_NEEDS_CSUM carries only the
//     pseudo-header sum in its transport checksum field: complete it;
//   - a GSO_TCPV6 (or GSO_TCPV4) packet is a TCP super-packet of up to 64 KiB: cut it
//     into gso_size-sized segments with their own lengths, sequence numbers,
//     flags and checksums (software TSO);
//   - a GSO_UDP_L4 packet is a UDP super-packet (UDP_SEGMENT): cut it into
//     gso_size-sized datagrams with their own IP and UDP lengths and UDP
//     checksums (software USO).
// With TSO the kernel hands the daemon one 64 KiB read instead of ~44 reads
// of one packet each, and the sender's TCP stack works on large buffers.
// wireguard-go does the same (tun/offload_linux.go). Pure code: no syscalls.
//
// Lifetime: a GsoSplitter works in place on the caller's buffer, which must
// stay untouched until done().
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>

namespace enftun::tun {

// struct virtio_net_hdr: 10 bytes, in the host's byte order (legacy virtio,
// which TUN uses unless TUNSETVNETLE/BE says otherwise; little-endian here).
constexpr std::size_t kVnetHdrLen = 10;
constexpr std::uint8_t kVnetFlagNeedsCsum = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr std::uint8_t kGsoNone = 0;           // VIRTIO_NET_HDR_GSO_NONE
constexpr std::uint8_t kGsoTcpV4 = 1;          // VIRTIO_NET_HDR_GSO_TCPV4
constexpr std::uint8_t kGsoTcpV6 = 4;          // VIRTIO_NET_HDR_GSO_TCPV6
constexpr std::uint8_t kGsoUdpL4 = 5;          // VIRTIO_NET_HDR_GSO_UDP_L4 (Linux 4.18)
constexpr std::uint8_t kGsoEcn = 0x80;         // VIRTIO_NET_HDR_GSO_ECN

// TUNSETOFFLOAD flags (linux/if_tun.h; the USO ones since Linux 6.2, which
// Debian 12's 6.1 headers lack).
constexpr unsigned long kTunFCsum = 0x01; // TUN_F_CSUM
constexpr unsigned long kTunFTso4 = 0x02; // TUN_F_TSO4
constexpr unsigned long kTunFTso6 = 0x04; // TUN_F_TSO6
constexpr unsigned long kTunFUso4 = 0x20; // TUN_F_USO4
constexpr unsigned long kTunFUso6 = 0x40; // TUN_F_USO6

// What a TUN's TUNSETOFFLOAD took: the flags of the call that succeeded,
// 0 when none did.
struct TunOffloads {
    unsigned long flags = 0;

    bool tso() const { return (flags & kTunFTso6) != 0; }
    bool uso() const { return (flags & (kTunFUso4 | kTunFUso6)) == (kTunFUso4 | kTunFUso6); }
    // What the status shows: "tso+uso", "tso" (no USO) or "none".
    const char* name() const { return !tso() ? "none" : uso() ? "tso+uso" : "tso"; }
    // Whether a super-packet of this GSO type may be written whole: TCP
    // (IPv6, and IPv4 too: the kernel takes TCPv4 GSO writes with TSO6 on)
    // once the TUN took TSO, UDP only where it took USO. The kernel's write
    // path does not look at these flags, but a TUN that refused them is one
    // we cannot vouch for: its super-packets are split in user space.
    bool takes_gso(std::uint8_t gso_type) const;
};

// The offload probe: TUNSETOFFLOAD (through set, which returns whether the
// call succeeded; a fake in tests) with wanted plus USO, then wanted alone.
// Returns what the first call that succeeded set; with neither, it asks
// set(0) to clear what an earlier open of a persistent device left on, and
// returns no offloads: the kernel then segments and checksums packets
// before it hands them over, as on a TUN without the header.
TunOffloads probe_offloads(unsigned long wanted, const std::function<bool(unsigned long)>& set);

struct VnetHdr {
    std::uint8_t flags = 0;
    std::uint8_t gso_type = kGsoNone;
    std::uint16_t hdr_len = 0;
    std::uint16_t gso_size = 0;
    std::uint16_t csum_start = 0;
    std::uint16_t csum_offset = 0;
};

// Linux 6.2 to 6.9 take at most 64 segments in a UDP super-packet written
// to a TUN (UDP_MAX_SEGMENTS, 128 since 6.10) and refuse a longer one with
// EINVAL, while a version-2 peer may send up to 128.
inline constexpr std::size_t kOldKernelUsoMaxSegments = 64;

// Whether a write_gso() of `packet_len` bytes with `hdr` that failed with
// `err` should be retried segment by segment (the user-space split) rather
// than dropped: EINVAL for a UDP super-packet of more than
// kOldKernelUsoMaxSegments segments. Pure.
bool gso_write_wants_split(int err, const VnetHdr& hdr, std::size_t packet_len);

// Errors: Truncated (fewer than 10 bytes).
[[nodiscard]] Result<VnetHdr> parse_vnet_hdr(Bytes b);

// Completes a partial checksum: sums bytes [csum_start, end) (the field holds
// the pseudo-header sum) and stores the result at csum_start + csum_offset,
// 0 sent as 0xffff as the kernel's skb_checksum_help does.
// Errors: Malformed (the offsets point outside the packet).
[[nodiscard]] Status complete_checksum(MutBytes pkt, std::size_t csum_start,
                                       std::size_t csum_offset);

// Yields the packets of one TUN read, one at a time. Use:
//   splitter.reset(hdr, packet);           // error: drop the read
//   while (!splitter.done()) n = splitter.next(out);
class GsoSplitter {
public:
    // Takes one read (without its header). Errors: Malformed (GSO packet
    // whose headers do not parse or lie), Unsupported (a GSO type we did not
    // enable). On error done() is true.
    [[nodiscard]] Status reset(const VnetHdr& hdr, MutBytes packet);
    // The same for a GSO packet only (TCPv6, TCPv4 or UDP), which is read and
    // never written: a super-packet from a version-2 frame. Errors: as reset.
    [[nodiscard]] Status reset_gso(const VnetHdr& hdr, Bytes packet);
    bool done() const { return done_; }
    // Copies the next packet into out and returns its length. Errors:
    // NoSpace (out is too small: that packet is skipped).
    [[nodiscard]] Result<std::size_t> next(MutBytes out);

private:
    Status reset_udp(const VnetHdr& hdr, Bytes packet);
    Result<std::size_t> next_segment(MutBytes out);
    Result<std::size_t> finish_udp(MutBytes out, std::size_t len);

    Bytes pkt_{};
    bool done_ = true;
    bool gso_ = false;
    bool ipv4_ = false;        // IPv4: IPv4 lengths, IDs and header checksum
    bool udp_ = false;         // UDP (USO): UDP length and checksum, no sequence
    std::size_t tcp_off_ = 0;  // transport header offset (csum_start)
    std::size_t hdr_end_ = 0;  // IP (+ extension) + transport headers
    std::size_t mss_ = 0;      // payload bytes per segment (gso_size)
    std::size_t next_off_ = 0; // first payload byte of the next segment
    std::uint32_t seq0_ = 0;   // sequence number of the first payload byte
    std::uint16_t id0_ = 0;    // IPv4 ID of the first segment
};

} // namespace enftun::tun
