#include "enftun/link/super_packet.hpp"

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

bool queue_packet(framing::FrameWriter& w, Bytes packet, const framing::GsoMeta* gso,
                  std::size_t max_payload) {
    if (gso == nullptr) {
        return w.append_frame(packet);
    }
    // Whole to a version-2 peer; if the frame does not fit the queue (a
    // queue_limit near 64 KiB), the segments that do still go.
    if (w.version() == 2 && w.append_gso_frame(packet, *gso)) {
        return true;
    }
    tun::GsoSplitter split;
    if (!split.reset_gso(vnet_hdr_for(*gso), packet)) {
        return false;
    }
    while (!split.done()) {
        MutBytes room = w.reserve_frame(max_payload);
        if (room.empty()) {
            return false;
        }
        auto n = split.next(room);
        if (!n) {
            return false;
        }
        w.commit_frame(*n);
    }
    return true;
}

} // namespace enftun::tunnel
