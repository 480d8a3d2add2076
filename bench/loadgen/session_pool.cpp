#include "session_pool.hpp"

#include "enftun/log/log.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace enftun::bench {

SessionPool::SessionPool(loop::Loop& loop, SSL_CTX* ctx, EVP_PKEY* key,
                         const std::vector<tls::X509Ptr>& certs, Options opts,
                         std::function<void()> on_established)
    : loop_(loop), ctx_(ctx), key_(key), certs_(certs), opts_(opts),
      on_established_(std::move(on_established)), conns_(certs.size()),
      reaper_(loop, [this] { graveyard_.clear(); }) {}

SessionPool::~SessionPool() = default;

void SessionPool::start() {
    launch_next();
}

void SessionPool::launch_next() {
    while (in_flight_ < opts_.window && next_ < certs_.size()) {
        std::size_t i = next_++;
        conns_[i] = std::make_unique<Conn>();
        conns_[i]->index = i;
        ++in_flight_;
        if (!open(*conns_[i], i)) {
            finish(*conns_[i], false);
        }
    }
    if (in_flight_ == 0 && next_ == certs_.size() && on_established_) {
        auto cb = std::move(on_established_);
        on_established_ = nullptr;
        cb();
    }
}

// open: nonblocking connect plus an SSL that presents certs_[index].
bool SessionPool::open(Conn& c, std::size_t index) {
    c.fd = UniqueFd(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c.fd.valid()) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "socket: %s", strerror(errno));
        return false;
    }
    int rc = ::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&opts_.router),
                       sizeof opts_.router);
    if (rc != 0 && errno != EINPROGRESS) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "connect: %s", strerror(errno));
        return false;
    }
    ERR_clear_error();
    c.ssl.reset(SSL_new(ctx_));
    if (!c.ssl || SSL_use_certificate(c.ssl.get(), certs_[index].get()) != 1 ||
        SSL_use_PrivateKey(c.ssl.get(), key_) != 1 || SSL_set_fd(c.ssl.get(), c.fd.get()) != 1) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "SSL setup: %s", tls::drain_errors().c_str());
        return false;
    }
    SSL_set_connect_state(c.ssl.get());
    c.poll = std::make_unique<loop::Poll>(loop_, c.fd.get(),
                                          [this, &c](int status, int) { on_event(c, status); });
    c.poll->watch(UV_WRITABLE);
    return true;
}

void SessionPool::on_event(Conn& c, int status) {
    if (status < 0) {
        finish(c, false);
        return;
    }
    switch (c.state) {
    case State::Connecting:
        on_connected(c);
        return;
    case State::Handshaking:
        drive_handshake(c);
        return;
    case State::Up:
        drain(c);
        return;
    case State::Done:
        return;
    }
}

void SessionPool::on_connected(Conn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "connect: %s", strerror(err != 0 ? err : errno));
        finish(c, false);
        return;
    }
    c.state = State::Handshaking;
    drive_handshake(c);
}

void SessionPool::drive_handshake(Conn& c) {
    ERR_clear_error();
    int rc = SSL_do_handshake(c.ssl.get());
    if (rc == 1) {
        c.state = State::Up;
        c.poll->watch(UV_READABLE);
        finish(c, true);
        return;
    }
    switch (SSL_get_error(c.ssl.get(), rc)) {
    case SSL_ERROR_WANT_READ:
        c.poll->watch(UV_READABLE);
        return;
    case SSL_ERROR_WANT_WRITE:
        c.poll->watch(UV_WRITABLE);
        return;
    default:
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "handshake failed: %s",
                               tls::drain_errors().c_str());
        finish(c, false);
        return;
    }
}

// drain: a held session reads and discards whatever the router sends (TLS
// 1.3 post-handshake messages, a close_notify); EOF or an error ends it.
void SessionPool::drain(Conn& c) {
    std::array<std::uint8_t, 4096> buf{};
    for (;;) {
        ERR_clear_error();
        std::size_t n = 0;
        if (SSL_read_ex(c.ssl.get(), buf.data(), buf.size(), &n) == 1) {
            continue;
        }
        int err = SSL_get_error(c.ssl.get(), 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            return;
        }
        ++stats_.closed_after_up;
        ERR_clear_error();
        close(c);
        return;
    }
}

void SessionPool::finish(Conn& c, bool up) {
    --in_flight_;
    if (up) {
        ++stats_.established;
    } else {
        ++stats_.failed;
        close(c);
    }
    launch_next();
}

void SessionPool::close(Conn& c) {
    c.state = State::Done;
    if (c.poll) {
        c.poll->watch(0);
    }
    graveyard_.push_back(std::move(conns_[c.index]));
    reaper_.start(0);
}

} // namespace enftun::bench
