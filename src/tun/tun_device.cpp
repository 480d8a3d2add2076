#include "enftun/tun/tun_device.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace enftun::tun {

Result<TunDevice> TunDevice::open(const std::string& dev_node, const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return make_error(Errc::Config, "interface name must be 1..15 characters");
    }
    UniqueFd fd(::open(dev_node.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot open TUN device node", errno);
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, name.c_str(), name.size());
    if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
        return make_error(Errc::System, "TUNSETIFF failed (is the device ours to use?)", errno);
    }
    unsigned ifindex = if_nametoindex(ifr.ifr_name);
    if (ifindex == 0) {
        return make_error(Errc::System, "TUN interface vanished after creation", errno);
    }
    return TunDevice(std::move(fd), ifr.ifr_name, ifindex);
}

Result<std::size_t> TunDevice::read(MutBytes buf) {
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

Result<std::size_t> TunDevice::write(Bytes pkt) {
    ssize_t n = ::write(fd_.get(), pkt.data(), pkt.size());
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
