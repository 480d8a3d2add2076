#include "enftun/netlink/route_monitor.hpp"

#include "enftun/log/log.hpp"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace enftun::netlink {

namespace {

// Large enough for any single notification (a route with many nexthops is
// the biggest); libmnl's MNL_SOCKET_DUMP_SIZE.
constexpr std::size_t kRecvBuffer = 32768;
// Datagrams read per readable event before yielding to the loop; the poll
// is level-triggered, so whatever is left is read on the next turn.
constexpr int kReadBatch = 64;

constexpr unsigned kGroups =
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;

void set_rcvbuf(int fd, int size) {
    // SO_RCVBUFFORCE (CAP_NET_ADMIN) may exceed net.core.rmem_max; without the
    // capability fall back to what the limit allows. Best effort either way:
    // a small buffer only means more overruns, which are handled.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
}

} // namespace

std::string describe(const NetChanges& changes) {
    std::string out;
    for (std::size_t i = 0; i < changes.sampled; ++i) {
        out += (i == 0 ? "" : ", ") + describe(changes.sample[i]);
    }
    if (changes.events() > changes.sampled) {
        // The last event is shown too: it tells when the batch ended.
        std::uint32_t unshown = changes.events() - static_cast<std::uint32_t>(changes.sampled) - 1;
        if (unshown > 0) {
            out += ", +" + std::to_string(unshown) + " more";
        }
        out += ", " + describe(changes.last);
    }
    if (changes.overrun) {
        out += out.empty() ? "overrun" : ", overrun";
    }
    return out;
}

RouteMonitor::RouteMonitor(loop::Loop& loop, Options opts, OnChange on_change)
    : loop_(loop), opts_(opts), on_change_(std::move(on_change)),
      window_(loop, [this] { on_window_end(); }) {}

RouteMonitor::~RouteMonitor() {
    stop();
}

Status RouteMonitor::start() {
    if (sock_) {
        return {};
    }
    Socket sock(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!sock) {
        return make_error(Errc::System, "cannot open rtnetlink socket", errno);
    }
    if (opts_.rcvbuf > 0) {
        set_rcvbuf(mnl_socket_get_fd(sock.get()), opts_.rcvbuf);
    }
    if (mnl_socket_bind(sock.get(), kGroups, MNL_SOCKET_AUTOPID) < 0) {
        return make_error(Errc::System, "cannot subscribe to rtnetlink groups", errno);
    }
    buf_.resize(kRecvBuffer);
    sock_ = std::move(sock);
    poll_ = std::make_unique<loop::Poll>(loop_, mnl_socket_get_fd(sock_.get()),
                                         [this](int status, int) { on_poll(status); });
    poll_->watch(UV_READABLE);
    return {};
}

void RouteMonitor::stop() {
    poll_.reset();
    sock_.reset();
    window_.stop();
    pending_ = NetChanges{};
    has_pending_ = false;
}

void RouteMonitor::on_poll(int status) {
    on_readable();
    if (status < 0 && poll_) {
        // ENOBUFS is raised as a socket error (sk_err), which epoll reports
        // as EPOLLERR; libuv then stops the poll and passes UV_EBADF. The
        // read above consumed the error, so watching again is safe.
        poll_->watch(0);
        poll_->watch(UV_READABLE);
    }
}

void RouteMonitor::on_readable() {
    for (int i = 0; i < kReadBatch && sock_; ++i) {
        if (!read_one()) {
            return;
        }
    }
}

bool RouteMonitor::read_one() {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            return false;
        }
        if (err == ENOBUFS) {
            // The kernel dropped notifications; the socket is still good.
            ENFTUN_LOG_DEBUG("route monitor: netlink overrun (ENOBUFS)");
            note_overrun();
            return true;
        }
        if (err == EINTR) {
            return true;
        }
        // ENOSPC: libmnl saw MSG_TRUNC (a datagram larger than our buffer).
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "route monitor: netlink receive failed: %s",
                               strerror(err));
        note_overrun();
        return err == ENOSPC;
    }
    on_datagram(Bytes(buf_.data(), static_cast<std::size_t>(n)));
    return true;
}

void RouteMonitor::on_datagram(Bytes datagram) {
    auto st = for_each_netlink_message(datagram, [this](Bytes msg) {
        auto ev = parse_net_event(msg);
        if (ev) {
            note(*ev);
        } else if (ev.error().code != Errc::Unsupported) {
            ENFTUN_LOG_RATELIMITED(log::Level::Warn, "route monitor: bad netlink message: %s",
                                   ev.error().what);
            note_overrun();
        }
    });
    if (!st) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "route monitor: bad netlink datagram: %s",
                               st.error().what);
        note_overrun();
    }
}

void RouteMonitor::note(const NetEvent& ev) {
    ++events_;
    switch (ev.kind) {
    case NetEventKind::Link:
        ++pending_.links;
        break;
    case NetEventKind::Address:
        ++pending_.addresses;
        break;
    case NetEventKind::Route:
        ++pending_.routes;
        break;
    }
    if (pending_.sampled < NetChanges::kSample) {
        pending_.sample[pending_.sampled++] = ev;
    }
    pending_.last = ev;
    arm();
}

void RouteMonitor::note_overrun() {
    ++overruns_;
    pending_.overrun = true;
    arm();
}

void RouteMonitor::arm() {
    if (!has_pending_) {
        has_pending_ = true;
        window_.start(opts_.coalesce_ms);
    }
}

void RouteMonitor::on_window_end() {
    NetChanges batch = pending_;
    pending_ = NetChanges{};
    has_pending_ = false;
    ++batches_;
    on_change_(batch);
}

} // namespace enftun::netlink
