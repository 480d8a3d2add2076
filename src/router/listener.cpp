#include "enftun/router/listener.hpp"

#include "enftun/log/log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace enftun::router {

namespace {
// Connections accepted per readable event, so a connection storm cannot
// starve established sessions.
constexpr int kAcceptBatch = 64;
constexpr std::uint64_t kAcceptRetryMs = 500;
} // namespace

Result<std::unique_ptr<Listener>> Listener::create(loop::Loop& loop, const std::string& address,
                                                   std::uint16_t port, OnAccept on_accept) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    sockaddr_in6 sin6{};
    sockaddr_in sin{};
    if (inet_pton(AF_INET6, address.c_str(), &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&ss, &sin6, sizeof sin6);
        len = sizeof sin6;
    } else if (inet_pton(AF_INET, address.c_str(), &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&ss, &sin, sizeof sin);
        len = sizeof sin;
    } else {
        return make_error(Errc::Config, "listen address is not an IP literal");
    }
    UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot create listening socket", errno);
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        return make_error(Errc::System, "cannot bind listening socket", errno);
    }
    if (::listen(fd.get(), SOMAXCONN) != 0) {
        return make_error(Errc::System, "cannot listen", errno);
    }
    std::string name =
        (ss.ss_family == AF_INET6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
    return std::unique_ptr<Listener>(
        new Listener(loop, std::move(fd), std::move(name), std::move(on_accept)));
}

Listener::Listener(loop::Loop& loop, UniqueFd fd, std::string name, OnAccept on_accept)
    : fd_(std::move(fd)), name_(std::move(name)), on_accept_(std::move(on_accept)),
      poll_(loop, fd_.get(), [this](int, int) { on_readable(); }),
      resume_(loop, [this] { pause(paused_); }) {
    poll_.watch(UV_READABLE);
}

void Listener::pause(bool paused) {
    paused_ = paused;
    if (!resume_.active()) {
        poll_.watch(paused ? 0 : UV_READABLE);
    }
}

void Listener::on_readable() {
    for (int i = 0; i < kAcceptBatch; ++i) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        UniqueFd fd(::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) {
            int err = errno;
            if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ECONNABORTED) {
                // EMFILE and friends: the pending connection stays queued and
                // the level-triggered poll would spin, so back off a moment.
                ENFTUN_LOG_RATELIMITED(log::Level::Warn, "accept on %s failed: %s", name_.c_str(),
                                       strerror(err));
                poll_.watch(0);
                resume_.start(kAcceptRetryMs);
            }
            return;
        }
        int one = 1;
        setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        on_accept_(std::move(fd), peer);
    }
}

} // namespace enftun::router
