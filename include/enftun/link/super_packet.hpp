// Super-packets on a link (PROTOCOL.md version 2): queueing a packet that
// may be a TCP or UDP super-packet towards a peer, whole in a GSO frame when the
// link speaks version 2, else cut into segments (tun::GsoSplitter, the same
// software TSO the TUN read path uses) that each fit the peer's MTU; and
// the virtio-net header that hands a validated super-packet to a TUN whole.
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

// The virtio-net header for a TUN write of a validated super-packet: the
// kernel completes the checksums (NEEDS_CSUM) and segments it or delivers it
// whole.
tun::VnetHdr vnet_hdr_for(const framing::GsoMeta& gso);

// The metadata for sending a TUN read's super-packet whole, or nullopt when
// it is not one, or one a version-2 peer would refuse (check_gso_packet
// with max_payload): such a read is split instead.
std::optional<framing::GsoMeta> gso_meta_from_read(const tun::VnetHdr& hdr, Bytes packet,
                                                   std::size_t max_payload);

// Queues packet into w: a GSO frame if gso is set and w is in version 2
// (and it fits), else a plain frame, or the segments of the super-packet
// (each at most max_payload bytes). False when w ran out of room (what did not fit is
// dropped; segments already queued stay) or the splitter refused the
// metadata (validated before, so never for a well-behaved caller).
[[nodiscard]] bool queue_packet(framing::FrameWriter& w, Bytes packet, const framing::GsoMeta* gso,
                                std::size_t max_payload);

// Calls emit(segment) for each segment of a validated super-packet, cut in
// scratch (at least hdr_len + gso_size bytes). False if the splitter refused
// the metadata or emit returned false (the rest is skipped).
template <typename Emit>
bool for_each_segment(Bytes packet, const framing::GsoMeta& gso, MutBytes scratch, Emit&& emit) {
    tun::GsoSplitter split;
    if (!split.reset_gso(vnet_hdr_for(gso), packet)) {
        return false;
    }
    while (!split.done()) {
        auto n = split.next(scratch);
        if (!n || !emit(Bytes(scratch.data(), *n))) {
            return false;
        }
    }
    return true;
}

} // namespace enftun::tunnel
