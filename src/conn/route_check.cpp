#include "enftun/conn/route_check.hpp"

#include "enftun/util/unique_fd.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

namespace enftun::conn {

namespace {

socklen_t sockaddr_len(const sockaddr_storage& ss) {
    return ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

template <typename T>
T as(const sockaddr_storage& ss) {
    T v{};
    std::memcpy(&v, &ss, sizeof v);
    return v;
}

using NameFn = int (*)(int, sockaddr*, socklen_t*);

Result<sockaddr_storage> socket_name(int fd, NameFn fn, const char* what) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fn(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) { // NOLINT: sockets API
        return make_error(Errc::System, what, errno);
    }
    return ss;
}

} // namespace

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) {
        return false;
    }
    if (a.ss_family == AF_INET6) {
        auto x = as<sockaddr_in6>(a);
        auto y = as<sockaddr_in6>(b);
        return std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0 &&
               x.sin6_scope_id == y.sin6_scope_id;
    }
    if (a.ss_family == AF_INET) {
        return as<sockaddr_in>(a).sin_addr.s_addr == as<sockaddr_in>(b).sin_addr.s_addr;
    }
    return false;
}

RouteDecision decide_route_change(const Result<sockaddr_storage>& preferred_source,
                                  const sockaddr_storage& tunnel_local) {
    if (!preferred_source || !same_address(*preferred_source, tunnel_local)) {
        return RouteDecision::Reconnect;
    }
    return RouteDecision::KeepAndProbe;
}

Result<sockaddr_storage> probe_preferred_source(const sockaddr_storage& peer,
                                                std::uint32_t fwmark) {
    if (peer.ss_family != AF_INET6 && peer.ss_family != AF_INET) {
        return make_error(Errc::System, "route probe: unknown address family", EAFNOSUPPORT);
    }
    UniqueFd fd(::socket(peer.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP));
    if (!fd.valid()) {
        return make_error(Errc::System, "route probe: cannot create UDP socket", errno);
    }
    if (fwmark != 0 && setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) != 0) {
        return make_error(Errc::System, "route probe: cannot set SO_MARK", errno);
    }
    // No datagram leaves: connect() on UDP only looks up the route.
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&peer), // NOLINT: sockets API
                  sockaddr_len(peer)) != 0) {
        return make_error(Errc::System, "route probe: no route to the router", errno);
    }
    return socket_local_address(fd.get());
}

Result<sockaddr_storage> socket_local_address(int fd) {
    return socket_name(fd, ::getsockname, "getsockname failed");
}

Result<sockaddr_storage> socket_peer_address(int fd) {
    return socket_name(fd, ::getpeername, "getpeername failed");
}

std::string format_address(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET6) {
        auto sin6 = as<sockaddr_in6>(ss);
        inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf);
    } else if (ss.ss_family == AF_INET) {
        auto sin = as<sockaddr_in>(ss);
        inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
    }
    return buf;
}

std::uint64_t RetryPacer::delay(std::uint64_t now_ms) const {
    if (!last_ms_ || now_ms >= *last_ms_ + min_interval_ms_) {
        return 0;
    }
    return *last_ms_ + min_interval_ms_ - now_ms;
}

} // namespace enftun::conn
