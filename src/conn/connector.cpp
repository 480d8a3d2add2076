#include "enftun/conn/connector.hpp"

#include "enftun/log/log.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace enftun::conn {

struct Connector::Resolve {
    uv_getaddrinfo_t req{};
    Connector* owner = nullptr; // nulled by cancel(): the answer is then dropped
};

Result<UniqueFd> make_tunnel_socket(int family, std::uint32_t fwmark) {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot create TCP socket", errno);
    }
    if (fwmark != 0 && setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) != 0) {
        return make_error(Errc::System, "cannot set SO_MARK (needs CAP_NET_ADMIN)", errno);
    }
    // Frames are batched explicitly; Nagle would only add latency.
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

std::string format_sockaddr(const sockaddr_storage& ss) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &ss, sizeof sin6);
        inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof host);
        port = ntohs(sin6.sin6_port);
        return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    if (ss.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &ss, sizeof sin);
        inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host);
        port = ntohs(sin.sin_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

Connector::Connector(loop::Loop& loop, ConnectorOptions opts, OnConnected on_connected,
                     OnFailed on_failed)
    : loop_(loop), opts_(std::move(opts)), on_connected_(std::move(on_connected)),
      on_failed_(std::move(on_failed)), attempt_timer_(loop, [this] { on_timeout(); }),
      deferred_(loop, [this] { on_deferred(); }) {}

Connector::~Connector() {
    cancel();
}

void Connector::start() {
    cancel();
    busy_ = true;
    host_index_ = 0;
    resolve_next_host();
}

void Connector::cancel() {
    if (resolving_ != nullptr) {
        resolving_->owner = nullptr;
        uv_cancel(reinterpret_cast<uv_req_t*>(&resolving_->req)); // NOLINT: libuv req cast
        resolving_ = nullptr;
    }
    attempt_timer_.stop();
    deferred_.stop();
    poll_.reset();
    fd_.reset();
    busy_ = false;
}

std::string Connector::trying() const {
    // poll_ exists from the connect() until its outcome is handed on.
    return busy_ && poll_ ? format_sockaddr(current_) : std::string();
}

void Connector::resolve_next_host() {
    if (host_index_ >= opts_.hosts.size()) {
        defer(Next::ReportFailed);
        return;
    }
    auto resolve = std::make_unique<Resolve>();
    resolve->owner = this;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    std::string service = std::to_string(opts_.port);
    auto cb = [](uv_getaddrinfo_t* req, int status, addrinfo* res) noexcept {
        std::unique_ptr<Resolve> self(static_cast<Resolve*>(req->data));
        std::vector<sockaddr_storage> addrs;
        for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
            if (ai->ai_addrlen <= sizeof(sockaddr_storage)) {
                sockaddr_storage ss{};
                std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
                addrs.push_back(ss);
            }
        }
        uv_freeaddrinfo(res);
        if (self->owner != nullptr) {
            self->owner->resolving_ = nullptr;
            self->owner->on_resolved(std::move(addrs), status);
        }
    };
    resolve->req.data = resolve.get();
    const std::string& host = opts_.hosts[host_index_];
    int rc = uv_getaddrinfo(loop_.get(), &resolve->req, cb, host.c_str(), service.c_str(), &hints);
    if (rc != 0) {
        ENFTUN_LOG_WARN("cannot resolve %s: %s", host.c_str(), uv_strerror(rc));
        ++host_index_;
        resolve_next_host();
        return;
    }
    resolving_ = resolve.release();
}

void Connector::on_resolved(std::vector<sockaddr_storage> addrs, int status) {
    const std::string& host = opts_.hosts[host_index_];
    current_host_ = host;
    ++host_index_;
    if (status != 0 || addrs.empty()) {
        ENFTUN_LOG_WARN("cannot resolve %s: %s", host.c_str(),
                        status != 0 ? uv_strerror(status) : "no addresses");
        resolve_next_host();
        return;
    }
    addrs_ = std::move(addrs);
    addr_index_ = 0;
    try_next_address();
}

void Connector::try_next_address() {
    poll_.reset();
    fd_.reset();
    while (addr_index_ < addrs_.size()) {
        current_ = addrs_[addr_index_++];
        auto sock = make_tunnel_socket(current_.ss_family, opts_.fwmark);
        if (!sock) {
            ENFTUN_LOG_ERROR("%s: %s", sock.error().what, strerror(sock.error().sys));
            continue;
        }
        if (auto st = apply_tcp_liveness(sock->get(), opts_.liveness); !st) {
            // Not fatal: the heartbeat still guards the connection.
            ENFTUN_LOG_WARN("%s: %s", st.error().what, strerror(st.error().sys));
        }
        socklen_t len = current_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        if (::connect(sock->get(), reinterpret_cast<const sockaddr*>(&current_), len) != 0 &&
            errno != EINPROGRESS) {
            ENFTUN_LOG_WARN("connect to %s failed: %s", format_sockaddr(current_).c_str(),
                            strerror(errno));
            continue;
        }
        ENFTUN_LOG_DEBUG("connecting to %s", format_sockaddr(current_).c_str());
        fd_ = std::move(*sock);
        poll_ = std::make_unique<loop::Poll>(loop_, fd_.get(),
                                             [this](int st, int) { on_socket_event(st); });
        poll_->watch(UV_WRITABLE);
        attempt_timer_.start(opts_.connect_timeout_ms);
        return;
    }
    resolve_next_host();
}

void Connector::on_socket_event(int status) {
    // libuv reports EPOLLERR as UV_EBADF; the socket's own error says why.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
    } else if (err == 0 && status < 0) {
        err = -status;
    }
    attempt_timer_.stop();
    poll_->watch(0);
    if (err != 0) {
        ENFTUN_LOG_WARN("connect to %s failed: %s", format_sockaddr(current_).c_str(),
                        strerror(err));
        defer(Next::TryNextAddress);
        return;
    }
    defer(Next::ReportConnected);
}

void Connector::on_timeout() {
    ENFTUN_LOG_WARN("connect to %s timed out after %llu ms", format_sockaddr(current_).c_str(),
                    static_cast<unsigned long long>(opts_.connect_timeout_ms));
    try_next_address();
}

void Connector::defer(Next next) {
    // Results leave the poll callback first: the poll must be closed before
    // the fd gets a new one, and a handle is never destroyed inside its own
    // callback.
    next_ = next;
    deferred_.start(0);
}

void Connector::on_deferred() {
    poll_.reset();
    switch (next_) {
    case Next::TryNextAddress:
        try_next_address();
        return;
    case Next::ReportConnected:
        busy_ = false;
        on_connected_(Connected{std::move(fd_), format_sockaddr(current_), current_host_});
        return;
    case Next::ReportFailed:
        busy_ = false;
        fd_.reset();
        on_failed_();
        return;
    }
}

} // namespace enftun::conn
