// TunDevice owns the fd of one Linux TUN interface (IFF_TUN | IFF_NO_PI: each
// read or write is exactly one IP packet, no extra header). It is opened
// nonblocking; it applies no policy and never touches routes or addresses
// (netlink/ does that).
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <string>

namespace enftun::tun {

class TunDevice {
public:
    // Opens dev_node (normally /dev/net/tun) and attaches to interface `name`,
    // creating it if it does not exist (creating needs CAP_NET_ADMIN; opening a
    // persistent device owned by our user does not).
    // Errors: System (open or TUNSETIFF failed; sys = errno).
    static Result<TunDevice> open(const std::string& dev_node, const std::string& name);

    int fd() const { return fd_.get(); }
    const std::string& name() const { return name_; }
    unsigned ifindex() const { return ifindex_; }

    // Reads one packet. Errors: WouldBlock when none is queued, System otherwise.
    Result<std::size_t> read(MutBytes buf);
    // Writes one packet. Errors: WouldBlock, System (e.g. EINVAL for a bad packet).
    Result<std::size_t> write(Bytes pkt);

private:
    TunDevice(UniqueFd fd, std::string name, unsigned ifindex)
        : fd_(std::move(fd)), name_(std::move(name)), ifindex_(ifindex) {}

    UniqueFd fd_;
    std::string name_;
    unsigned ifindex_ = 0;
};

} // namespace enftun::tun
