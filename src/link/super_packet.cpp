#include "enftun/link/super_packet.hpp"

#include <algorithm>

namespace enftun::tunnel {

tun::VnetHdr vnet_hdr_for(const framing::GsoMeta& gso) {
    return tun::VnetHdr{tun::kVnetFlagNeedsCsum, gso.gso_type,   gso.hdr_len, gso.gso_size,
                        gso.csum_start,          gso.csum_offset};
}

std::optional<framing::GsoMeta> gso_meta_from_read(const tun::VnetHdr& hdr, Bytes packet,
                                                   std::size_t max_payload) {
    const std::uint8_t type = hdr.gso_type & ~tun::kGsoEcn;
    if ((type != tun::kGsoTcpV6 && type != tun::kGsoTcpV4 && type != tun::kGsoUdpL4) ||
        (hdr.flags & tun::kVnetFlagNeedsCsum) == 0) {
        return std::nullopt;
    }
    auto meta = framing::gso_meta_for(packet, hdr.gso_type, hdr.gso_size, max_payload);
    if (!meta) {
        return std::nullopt;
    }
    return *meta;
}

std::size_t split_budget(std::size_t pkt_len, const framing::GsoMeta& gso) {
    const std::size_t all = framing::gso_segments(pkt_len, gso);
    if (gso.gso_size >= kSplitPayloadPerSegment) {
        return all;
    }
    const std::size_t payload = pkt_len - gso.hdr_len;
    return std::min(all, (payload + kSplitPayloadPerSegment - 1) / kSplitPayloadPerSegment);
}

Queued queue_packet(framing::FrameWriter& w, Bytes packet, const framing::GsoMeta* gso,
                    std::size_t max_payload) {
    Queued out;
    if (gso == nullptr) {
        out.complete = w.append_frame(packet);
        out.bytes = out.complete ? packet.size() : 0;
        return out;
    }
    // Whole to a version-2 peer; if the frame does not fit the queue (a
    // queue_limit near 64 KiB), the segments that do still go.
    if (w.version() == 2 && w.append_gso_frame(packet, *gso)) {
        out.complete = true;
        out.bytes = packet.size();
        return out;
    }
    const std::size_t budget = split_budget(packet.size(), *gso);
    out.skipped = framing::gso_segments(packet.size(), *gso) - budget;
    tun::GsoSplitter split;
    if (!split.reset_gso(vnet_hdr_for(*gso), packet)) {
        return out;
    }
    for (std::size_t made = 0; made < budget && !split.done(); ++made) {
        MutBytes room = w.reserve_frame(max_payload);
        if (room.empty()) {
            return out;
        }
        auto n = split.next(room);
        if (!n) {
            return out;
        }
        w.commit_frame(*n);
        out.bytes += *n;
    }
    out.complete = true;
    return out;
}

} // namespace enftun::tunnel
