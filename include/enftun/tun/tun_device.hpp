// TunDevice owns the fd of one Linux TUN interface (IFF_TUN | IFF_NO_PI). It
// is opened nonblocking; it applies no policy and never touches routes or
// addresses (netlink/ does that). read() and write() move exactly one IP
// packet each.
//
// Offloads (offload.hpp): open() asks for IFF_VNET_HDR with checksum and
// TCP/IPv6 segmentation offload (TCP/IPv4 too with OpenOptions::tso4; UDP
// segmentation offload where the kernel has it), and falls back to plain packets when the kernel
// refuses the header; a TUN that takes the header but refuses the offloads gets none (offloads()
// says what it took, and super-packets to it are split in user space). With them one read() syscall
// may bring a 64 KiB TCP super-packet, kept in a staging buffer and handed out one segment per
// read() call: while pending() is true, packets wait there that no readable event will announce, so
// callers keep reading until it turns false.
#pragma once

#include "enftun/tun/offload.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <memory>
#include <string>

namespace enftun::tun {

// How open() sets up the device.
struct TunOptions {
    // Ask for the virtio-net header and offloads (above). false: plain
    // packets, which the kernel segments and checksums before handing them
    // over, and every packet written must fit the MTU (callers split
    // super-packets first: takes_gso() is false).
    bool offload = true;
    // TCP/IPv4 super-packets too (TUN_F_TSO4): where inner IPv4 is in use
    // (the client's route.allow_ipv4, router.ipv4_client_prefixes).
    bool tso4 = false;
};

class TunDevice {
public:
    // Opens dev_node (normally /dev/net/tun) and attaches to interface `name`,
    // creating it if it does not exist (creating needs CAP_NET_ADMIN; opening a
    // persistent device owned by our user does not).
    // Errors: System (open or TUNSETIFF failed; sys = errno).
    static Result<TunDevice> open(const std::string& dev_node, const std::string& name,
                                  const TunOptions& options = {});

    int fd() const { return fd_.get(); }
    const std::string& name() const { return name_; }
    unsigned ifindex() const { return ifindex_; }

    // Reads one packet. Errors: WouldBlock when none is queued, System
    // otherwise, Malformed/Unsupported/NoSpace for an offloaded read that
    // cannot be split (dropped).
    Result<std::size_t> read(MutBytes buf);
    // Writes one packet. Errors: WouldBlock, System (e.g. EINVAL for a bad packet).
    Result<std::size_t> write(Bytes pkt);

    // Offload only, and only while !pending(): reads one packet whole, a
    // super-packet included (gso_type != kGsoNone; its checksum left
    // partial), the view valid until the next read. A plain packet comes
    // with its checksum completed. The caller sends it whole, or calls
    // split_staged() to have read() hand out its segments instead.
    // Errors: as read().
    struct WholeRead {
        VnetHdr hdr;
        Bytes packet;
    };
    Result<WholeRead> read_whole();
    // The same, read straight into buf (the virtio-net header apart, one
    // readv), so the caller's send buffer needs no copy from the stage. buf
    // must hold the largest packet (kMaxWholeRead); the view points into it.
    // split_staged() then copies the packet into the stage first.
    static constexpr std::size_t kMaxWholeRead = 65535 + 40;
    Result<WholeRead> read_whole_into(MutBytes buf);
    // The last read_whole() super-packet, to be read() segment by segment.
    // Errors: as GsoSplitter::reset (the packet is dropped).
    [[nodiscard]] Status split_staged();
    // Offload only: writes a super-packet whole with its virtio-net header;
    // the kernel segments it (or delivers it whole). Errors: as write().
    Result<std::size_t> write_gso(Bytes pkt, const VnetHdr& hdr);

    // Segments of an offloaded read not yet returned by read().
    bool pending() const { return !split_.done(); }
    // Reads and writes carry the virtio-net header (read_whole() and
    // write_gso() may be used); the offloads are what offloads() says.
    bool offload() const { return stage_ != nullptr; }
    // The offloads the kernel took (TUNSETOFFLOAD): none without the header.
    const TunOffloads& offloads() const { return offloads_; }
    // What the status shows: "tso+uso", "tso" (no USO) or "none".
    const char* offload_name() const { return offloads_.name(); }
    // Whether write_gso() takes a super-packet of this GSO type whole
    // (TunOffloads::takes_gso): never on a TUN that refused the offloads.
    bool takes_gso(std::uint8_t gso_type) const {
        return offload() && offloads_.takes_gso(gso_type);
    }

private:
    TunDevice(UniqueFd fd, std::string name, unsigned ifindex, bool vnet_hdr, TunOffloads offloads);
    Result<std::size_t> read_offloaded(MutBytes buf);
    Result<std::size_t> write_with(const std::uint8_t* vnet, Bytes pkt);
    Result<WholeRead> take_whole(const VnetHdr& hdr, MutBytes pkt);
    static Error read_error(int err);

    UniqueFd fd_;
    std::string name_;
    unsigned ifindex_ = 0;
    TunOffloads offloads_;                  // what TUNSETOFFLOAD took; none without the header
    std::unique_ptr<std::uint8_t[]> stage_; // one offloaded read; null: no vnet header
    GsoSplitter split_;
    VnetHdr staged_hdr_;                      // header of the last read_whole()
    std::size_t staged_len_ = 0;              // its packet's length
    const std::uint8_t* staged_at_ = nullptr; // read_whole_into's buffer; null: the stage
};

} // namespace enftun::tun
