// SessionPool: opens N TLS client sessions to the router and holds them.
//
//   Connecting ──writable, SO_ERROR 0──► Handshaking ──done──► Up (held)
//        └────────────── error ─────────────┴──────────────────► Failed
//
// At most `window` sessions are connecting or handshaking at a time (a
// connection storm would only overflow the router's accept queue); each
// finished one starts the next. Held sessions keep reading, so a session the
// router closes is noticed and counted. Session i presents certs[i].
//
// Lifetime: the loop, the SSL_CTX and the certificates must outlive the pool.
// Callbacks run on the loop thread; on_established runs once, when every
// session has either come up or failed.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/unique_fd.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace enftun::bench {

struct PoolStats {
    std::size_t established = 0;
    std::size_t failed = 0;
    std::size_t closed_after_up = 0; // up, then closed by the router
};

class SessionPool {
public:
    struct Options {
        sockaddr_in6 router{};
        std::size_t window = 64;
    };

    SessionPool(loop::Loop& loop, SSL_CTX* ctx, EVP_PKEY* key,
                const std::vector<tls::X509Ptr>& certs, Options opts,
                std::function<void()> on_established);
    ~SessionPool();
    SessionPool(const SessionPool&) = delete;
    SessionPool& operator=(const SessionPool&) = delete;

    void start();
    const PoolStats& stats() const { return stats_; }

private:
    enum class State { Connecting, Handshaking, Up, Done };
    struct Conn {
        UniqueFd fd;
        tls::SslPtr ssl;
        std::unique_ptr<loop::Poll> poll;
        State state = State::Connecting;
        std::size_t index = 0; // in conns_ and certs_
    };

    void launch_next();
    bool open(Conn& c, std::size_t index);
    void on_event(Conn& c, int status);
    void on_connected(Conn& c);
    void drive_handshake(Conn& c);
    void drain(Conn& c);
    void finish(Conn& c, bool up);
    void close(Conn& c);

    loop::Loop& loop_; // outlives the pool
    SSL_CTX* ctx_;     // outlives the pool
    EVP_PKEY* key_;    // outlives the pool
    const std::vector<tls::X509Ptr>& certs_;
    Options opts_;
    std::function<void()> on_established_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::size_t next_ = 0;
    std::size_t in_flight_ = 0;
    loop::Timer reaper_; // frees closed connections outside their callbacks
    std::vector<std::unique_ptr<Conn>> graveyard_;
    PoolStats stats_;
};

} // namespace enftun::bench
