#include "enftun/netlink/host_routes.hpp"

#include "enftun/log/log.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace enftun::netlink {

namespace {
// Large enough for one datagram of a route dump (MNL_SOCKET_DUMP_SIZE).
constexpr std::size_t kRecvBuffer = 32768;
// Deletes per datagram in remove_all(): ~80 bytes each.
constexpr std::size_t kDeleteBatchBytes = 32768;

// Whether an NLMSG_ERROR answer reports a failure (0 is an ack).
int error_of(const nlmsghdr* nlh) {
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        return EBADMSG;
    }
    nlmsgerr err;
    std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
    return -err.error;
}
} // namespace

Result<std::unique_ptr<HostRoutes>> HostRoutes::create(loop::Loop& loop, RouteOwner owner) {
    Socket sock(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!sock) {
        return make_error(Errc::System, "cannot open rtnetlink socket", errno);
    }
    // Answers carry only the failed request's header, not the request.
    int one = 1;
    mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof one);
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return make_error(Errc::System, "cannot bind rtnetlink socket", errno);
    }
    return std::unique_ptr<HostRoutes>(new HostRoutes(loop, owner, std::move(sock)));
}

HostRoutes::HostRoutes(loop::Loop& loop, RouteOwner owner, Socket sock)
    : owner_(owner), sock_(std::move(sock)), buf_(kRecvBuffer) {
    poll_ =
        std::make_unique<loop::Poll>(loop, mnl_socket_get_fd(sock_.get()), [this](int status, int) {
            on_readable();
            if (status < 0 && poll_) {
                // ENOBUFS (see route_monitor.cpp).
                poll_->watch(0);
                poll_->watch(UV_READABLE);
            }
        });
    poll_->watch(UV_READABLE);
}

HostRoutes::~HostRoutes() {
    poll_.reset(); // before the socket it watches
}

Status HostRoutes::send(const RouteBatch& batch) {
    if (batch.empty()) {
        return {};
    }
    auto bytes = batch.bytes();
    if (mnl_socket_sendto(sock_.get(), bytes.data(), bytes.size()) < 0) {
        return make_error(Errc::System, "cannot send routes to the kernel", errno);
    }
    return {};
}

void HostRoutes::on_readable() {
    int fd = mnl_socket_get_fd(sock_.get());
    for (;;) {
        ssize_t n = recv(fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS) {
                // Answers were lost: each was a failure.
                ++failures_;
                ENFTUN_LOG_RATELIMITED(log::Level::Warn,
                                       "host routes: kernel answers lost (ENOBUFS)");
                continue;
            }
            return; // EAGAIN, or nothing we can do about it here
        }
        auto len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            on_answer(nlh);
        }
    }
}

void HostRoutes::on_answer(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != NLMSG_ERROR) {
        return;
    }
    int err = error_of(nlh);
    if (err == 0 || err == ESRCH) {
        return; // an ack, or a delete of a route that is already gone
    }
    ++failures_;
    ENFTUN_LOG_RATELIMITED(log::Level::Warn, "host routes: the kernel refused a route: %s",
                           strerror(err));
}

// A dump of all routes, keeping those of `protocol` in `table` (and on oif,
// unless 0). Answers to earlier requests that arrive in between are handled
// as usual.
Status HostRoutes::dump_matching(std::uint32_t table, std::uint8_t protocol, unsigned oif,
                                 std::vector<RouteInfo>& out) {
    std::uint32_t seq = next_seq();
    std::size_t len = build_route_dump(buf_, seq);
    if (mnl_socket_sendto(sock_.get(), buf_.data(), len) < 0) {
        return make_error(Errc::System, "cannot dump routes", errno);
    }
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
        if (n < 0) {
            return make_error(Errc::System, "cannot dump routes", errno);
        }
        auto left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_seq != seq) {
                on_answer(nlh);
            } else if (nlh->nlmsg_type == NLMSG_DONE) {
                return {};
            } else if (nlh->nlmsg_type == NLMSG_ERROR) {
                return make_error(Errc::System, "cannot dump routes", error_of(nlh));
            } else if (auto r = parse_route(nlh); r && r->protocol == protocol &&
                                                  r->table == table &&
                                                  (oif == 0 || r->oif == oif)) {
                out.push_back(*r);
            }
        }
    }
}

Result<std::size_t> HostRoutes::remove_all() {
    return remove_matching(owner_.table, owner_.protocol, 0);
}

Result<std::size_t> HostRoutes::remove_on(std::uint32_t table, std::uint8_t protocol,
                                          unsigned oif) {
    if (oif == 0) {
        return std::size_t{0}; // "any interface" is for our own table and protocol only
    }
    return remove_matching(table, protocol, oif);
}

Result<std::size_t> HostRoutes::remove_matching(std::uint32_t table, std::uint8_t protocol,
                                                unsigned oif) {
    std::vector<RouteInfo> routes;
    if (Status st = dump_matching(table, protocol, oif, routes); !st) {
        return st.error();
    }
    RouteBatch batch(kDeleteBatchBytes);
    for (const auto& r : routes) {
        RouteOwner owner{.ifindex = r.oif, .protocol = protocol, .table = table};
        // r.oif: it may point into a TUN of an earlier run
        if (!batch.delete_route(owner, r.dst, r.dst_len, next_seq())) {
            if (Status st = send(batch); !st) {
                return st.error();
            }
            batch.clear();
            (void)batch.delete_route(owner, r.dst, r.dst_len, next_seq());
        }
    }
    if (Status st = send(batch); !st) {
        return st.error();
    }
    return routes.size();
}

} // namespace enftun::netlink
