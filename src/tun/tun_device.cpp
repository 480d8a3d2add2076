#include "enftun/tun/tun_device.hpp"

#include "enftun/log/log.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace enftun::tun {

namespace {

// Staging buffer of an offloaded read: the header plus the largest IPv6
// packet a TUN hands out (payload length is 16 bits; GSO stays below it).
constexpr std::size_t kStageSize = kVnetHdrLen + 65535 + 40;
// Header for every write: no offload asked, the checksums are complete
// (the peer's TunDevice completed them before sending).
constexpr std::uint8_t kZeroVnetHdr[kVnetHdrLen] = {};

static_assert(kTunFCsum == TUN_F_CSUM && kTunFTso4 == TUN_F_TSO4 && kTunFTso6 == TUN_F_TSO6);

int attach(int fd, const std::string& name, short flags, ifreq& ifr) {
    ifr = ifreq{};
    ifr.ifr_flags = flags;
    std::memcpy(ifr.ifr_name, name.c_str(), name.size());
    return ioctl(fd, TUNSETIFF, &ifr);
}

// enable_offload: with checksum and TCP/IPv6 segmentation offload the kernel
// may give us partial checksums and super-packets (offload.hpp handles both),
// and with USO (where the kernel has it) UDP super-packets too. Returns what
// the kernel took (probe_offloads). TSO for IPv4 only where inner IPv4 is in
// use (tso4): enftun carries IPv6, IPv4 only where allowed.
TunOffloads enable_offload(int fd, bool tso4) {
    int hdr_len = static_cast<int>(kVnetHdrLen);
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) != 0) {
        // No offload is safe without our header size: clear what an earlier
        // open of a persistent device left on.
        (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
        return TunOffloads{};
    }
    const unsigned long base = kTunFCsum | kTunFTso6 | (tso4 ? kTunFTso4 : 0);
    TunOffloads took = probe_offloads(
        base, [fd](unsigned long flags) { return ioctl(fd, TUNSETOFFLOAD, flags) == 0; });
    static bool logged = false;
    if (!logged && !took.uso()) {
        logged = true;
        ENFTUN_LOG_DEBUG("TUN: the kernel took offloads 0x%lx (%s)", took.flags, took.name());
    }
    return took;
}

} // namespace

TunDevice::TunDevice(UniqueFd fd, std::string name, unsigned ifindex, bool vnet_hdr,
                     TunOffloads offloads)
    : fd_(std::move(fd)), name_(std::move(name)), ifindex_(ifindex), offloads_(offloads) {
    if (vnet_hdr) {
        stage_ = std::make_unique_for_overwrite<std::uint8_t[]>(kStageSize);
    }
}

Result<TunDevice> TunDevice::open(const std::string& dev_node, const std::string& name,
                                  const TunOptions& options) {
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return make_error(Errc::Config, "interface name must be 1..15 characters");
    }
    UniqueFd fd(::open(dev_node.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot open TUN device node", errno);
    }
    // Probe: ask for the virtio-net header; a kernel (or device) that
    // refuses it gets plain packets (STYLE.md §2). One that takes the header
    // but refuses the offloads hands out headers that never ask for any,
    // which read() handles alike (the fd cannot be attached a second time),
    // and gets no super-packets written (takes_gso() is false).
    ifreq ifr{};
    // Without options.offload the probe is skipped: plain packets.
    bool vnet =
        options.offload && attach(fd.get(), name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, ifr) == 0;
    TunOffloads offloads;
    if (vnet) {
        offloads = enable_offload(fd.get(), options.tso4);
    } else if (attach(fd.get(), name, IFF_TUN | IFF_NO_PI, ifr) < 0) {
        return make_error(Errc::System, "TUNSETIFF failed (is the device ours to use?)", errno);
    } else {
        // A persistent device keeps the offloads an earlier open enabled;
        // without the header they would hand us super-packets unannounced.
        (void)ioctl(fd.get(), TUNSETOFFLOAD, 0UL);
    }
    unsigned ifindex = if_nametoindex(ifr.ifr_name);
    if (ifindex == 0) {
        return make_error(Errc::System, "TUN interface vanished after creation", errno);
    }
    return TunDevice(std::move(fd), ifr.ifr_name, ifindex, vnet, offloads);
}

Result<std::size_t> TunDevice::read(MutBytes buf) {
    if (stage_) {
        return read_offloaded(buf);
    }
    ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
            return make_error(Errc::WouldBlock, "tun read would block", err);
        }
        return make_error(Errc::System, "tun read failed", err);
    }
    return static_cast<std::size_t>(n);
}

// read_offloaded: the next segment of the staged read; a new read() only
// when the stage is empty.
Result<std::size_t> TunDevice::read_offloaded(MutBytes buf) {
    if (split_.done()) {
        ssize_t n = ::read(fd_.get(), stage_.get(), kStageSize);
        if (n < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
                return make_error(Errc::WouldBlock, "tun read would block", err);
            }
            return make_error(Errc::System, "tun read failed", err);
        }
        MutBytes got(stage_.get(), static_cast<std::size_t>(n));
        auto hdr = parse_vnet_hdr(got);
        if (!hdr) {
            return hdr.error();
        }
        if (auto st = split_.reset(*hdr, got.subspan(kVnetHdrLen)); !st) {
            return st.error();
        }
        if (split_.done()) {
            return std::size_t{0}; // an empty packet: callers skip it
        }
    }
    return split_.next(buf);
}

Result<TunDevice::WholeRead> TunDevice::read_whole() {
    ssize_t n = ::read(fd_.get(), stage_.get(), kStageSize);
    if (n < 0) {
        return read_error(errno);
    }
    MutBytes got(stage_.get(), static_cast<std::size_t>(n));
    auto hdr = parse_vnet_hdr(got);
    if (!hdr) {
        return hdr.error();
    }
    staged_at_ = nullptr;
    return take_whole(*hdr, got.subspan(kVnetHdrLen));
}

Result<TunDevice::WholeRead> TunDevice::read_whole_into(MutBytes buf) {
    assert(stage_ && buf.size() >= kMaxWholeRead);
    std::uint8_t vnet[kVnetHdrLen];
    iovec iov[2] = {{vnet, kVnetHdrLen}, {buf.data(), buf.size()}};
    ssize_t n = ::readv(fd_.get(), iov, 2);
    if (n < 0) {
        return read_error(errno);
    }
    const auto got = static_cast<std::size_t>(n);
    auto hdr = parse_vnet_hdr(Bytes(vnet, std::min(got, kVnetHdrLen)));
    if (!hdr) {
        return hdr.error();
    }
    const MutBytes pkt = buf.first(got - kVnetHdrLen);
    staged_at_ = pkt.data();
    return take_whole(*hdr, pkt);
}

// take_whole: what both whole reads do with the packet they got.
Result<TunDevice::WholeRead> TunDevice::take_whole(const VnetHdr& hdr, MutBytes pkt) {
    staged_hdr_ = hdr;
    staged_len_ = pkt.size();
    if ((hdr.gso_type & ~kGsoEcn) == kGsoNone && (hdr.flags & kVnetFlagNeedsCsum) != 0) {
        if (auto st = complete_checksum(pkt, hdr.csum_start, hdr.csum_offset); !st) {
            return st.error();
        }
    }
    return WholeRead{hdr, pkt};
}

Error TunDevice::read_error(int err) {
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
        return make_error(Errc::WouldBlock, "tun read would block", err);
    }
    return make_error(Errc::System, "tun read failed", err);
}

Status TunDevice::split_staged() {
    if (staged_at_ != nullptr) {
        // read_whole_into's packet lives in the caller's buffer, which the
        // segments are about to be read into: move it to the stage (it fits:
        // the stage holds kMaxWholeRead behind the header).
        std::memcpy(stage_.get() + kVnetHdrLen, staged_at_, staged_len_);
        staged_at_ = nullptr;
    }
    return split_.reset(staged_hdr_, MutBytes(stage_.get() + kVnetHdrLen, staged_len_));
}

Result<std::size_t> TunDevice::write_gso(Bytes pkt, const VnetHdr& hdr) {
    std::uint8_t vnet[kVnetHdrLen] = {hdr.flags, hdr.gso_type};
    // Little-endian, as parse_vnet_hdr reads it.
    const std::uint16_t fields[4] = {hdr.hdr_len, hdr.gso_size, hdr.csum_start, hdr.csum_offset};
    for (int i = 0; i < 4; ++i) {
        vnet[2 + 2 * i] = static_cast<std::uint8_t>(fields[i]);
        vnet[3 + 2 * i] = static_cast<std::uint8_t>(fields[i] >> 8);
    }
    return write_with(vnet, pkt);
}

Result<std::size_t> TunDevice::write(Bytes pkt) {
    return write_with(kZeroVnetHdr, pkt);
}

Result<std::size_t> TunDevice::write_with(const std::uint8_t* vnet, Bytes pkt) {
    ssize_t n = 0;
    if (stage_) {
        iovec iov[2] = {{const_cast<std::uint8_t*>(vnet), kVnetHdrLen},
                        {const_cast<std::uint8_t*>(pkt.data()), pkt.size()}};
        n = ::writev(fd_.get(), iov, 2);
        if (n >= static_cast<ssize_t>(kVnetHdrLen)) {
            n -= static_cast<ssize_t>(kVnetHdrLen);
        }
    } else {
        n = ::write(fd_.get(), pkt.data(), pkt.size());
    }
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
            return make_error(Errc::WouldBlock, "tun write would block", err);
        }
        return make_error(Errc::System, "tun write failed", err);
    }
    return static_cast<std::size_t>(n);
}

} // namespace enftun::tun
