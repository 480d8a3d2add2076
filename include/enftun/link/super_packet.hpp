// Super-packets on a link (PROTOCOL.md version 2): queueing a packet that
// may be a TCP or UDP super-packet towards a peer, whole in a GSO frame when the
// link speaks version 2, else cut into segments (tun::GsoSplitter, the same
// software TSO the TUN read path uses) that each fit the peer's MTU; and
// the virtio-net header that hands a validated super-packet to a TUN whole.
//
// A split in user space pays per segment (a TUN write, or a frame for a
// version-1 peer), and a super-packet's segment size is its sender's word:
// 64 KiB in 1-byte segments would be 65,000 TUN writes (~70 ms of the
// router's one thread, measured here) for one frame of a hostile client.
// So a split makes at most one segment per kSplitPayloadPerSegment payload
// bytes (split_budget), the first ones; the rest are dropped and reported.
// A real TCP flow never meets the bound (Linux sends no segment under
// tcp_min_snd_mss, 48 bytes, less its options, but for a SACK-laden
// retransmission, which then loses its tail and is sent again).
//
// Pure glue between framing/ and tun/; no state of its own.
#pragma once

#include "enftun/framing/frame_v2.hpp"
#include "enftun/framing/frame_writer.hpp"
#include "enftun/tun/offload.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include <cstddef>
#include <optional>

namespace enftun::tunnel {

// Payload bytes a split in user space pays one segment for (above).
constexpr std::size_t kSplitPayloadPerSegment = 32;

// How many segments a split of a validated super-packet of pkt_len bytes
// makes: all of them (framing::gso_segments) when gso_size is at least
// kSplitPayloadPerSegment, else one per kSplitPayloadPerSegment bytes of
// payload, rounded up.
std::size_t split_budget(std::size_t pkt_len, const framing::GsoMeta& gso);

// The virtio-net header for a TUN write of a validated super-packet: the
// kernel completes the checksums (NEEDS_CSUM) and segments it or delivers it
// whole.
tun::VnetHdr vnet_hdr_for(const framing::GsoMeta& gso);

// The metadata for sending a TUN read's super-packet whole, or nullopt when
// it is not one, or one a version-2 peer would refuse (check_gso_packet
// with max_payload): such a read is split instead.
std::optional<framing::GsoMeta> gso_meta_from_read(const tun::VnetHdr& hdr, Bytes packet,
                                                   std::size_t max_payload);

// What queue_packet did.
struct Queued {
    bool complete = false;   // all of it (within split_budget) went in
    std::size_t bytes = 0;   // IP bytes queued: the packet, or its segments
    std::size_t skipped = 0; // segments beyond split_budget, never made
};

// Queues packet into w: a GSO frame if gso is set and w is in version 2
// (and it fits), else a plain frame, or the segments of the super-packet
// (each at most max_payload bytes, at most split_budget of them). Not
// complete when w ran out of room (what did not fit is dropped; segments
// already queued stay) or the splitter refused the metadata (validated
// before, so never for a well-behaved caller).
[[nodiscard]] Queued queue_packet(framing::FrameWriter& w, Bytes packet,
                                  const framing::GsoMeta* gso, std::size_t max_payload);

// What for_each_segment did.
struct Split {
    bool complete = false;   // every segment within split_budget was emitted
    std::size_t skipped = 0; // segments beyond split_budget, never made
};

// Calls emit(segment) for each segment of a validated super-packet, at
// most split_budget of them, cut in scratch (at least hdr_len + gso_size
// bytes). Not complete if the splitter refused the metadata or emit
// returned false (the rest is skipped).
template <typename Emit>
Split for_each_segment(Bytes packet, const framing::GsoMeta& gso, MutBytes scratch, Emit&& emit) {
    const std::size_t budget = split_budget(packet.size(), gso);
    Split out{.complete = false, .skipped = framing::gso_segments(packet.size(), gso) - budget};
    tun::GsoSplitter split;
    if (!split.reset_gso(vnet_hdr_for(gso), packet)) {
        return out;
    }
    for (std::size_t made = 0; made < budget && !split.done(); ++made) {
        auto n = split.next(scratch);
        if (!n || !emit(Bytes(scratch.data(), *n))) {
            return out;
        }
    }
    out.complete = true;
    return out;
}

} // namespace enftun::tunnel
