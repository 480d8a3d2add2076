// Prelude: an accepted TCP connection before its TLS handshake starts. It
// holds only the socket and a poll (no SSL, no buffers: a few hundred bytes)
// until the peer's first 9 bytes are there, then checks them without taking
// them from the socket (MSG_PEEK): a TLS record header (5 bytes) and the
// ClientHello's handshake header (4 bytes). Only a ClientHello of a sane size
// goes on to OpenSSL, which would otherwise grow its handshake buffer to the
// announced length at once (up to ~128 KiB, its ClientHello limit) for a peer
// that sent 9 bytes.
//
// SO_RCVLOWAT keeps the socket unreadable until 9 bytes (or EOF) are there,
// so a peer that trickles bytes does not wake us per byte; the router's
// first-byte timeout bounds the wait (HandshakeBudget).
//
// Lifetime: owned by the router; the callback must not destroy the prelude
// (retire it, as sessions are). take_fd() hands the socket on; destroy the
// prelude (its poll) before another poll watches that socket.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/router/handshake_budget.hpp"
#include "enftun/util/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace enftun::router {

// Handshake message lengths above this are refused before OpenSSL sees them.
// A ClientHello from OpenSSL 3 or a browser is 0.3-2 KiB (with a
// post-quantum key share); 16 KiB is one full TLS record.
inline constexpr std::size_t kMaxClientHello = 16384;
// TLS record header (RFC 8446 section 5.1) + handshake header (section 4).
inline constexpr std::size_t kHelloPrefixLen = 9;

enum class HelloPrefix {
    Ok,
    NotTls,   // not a TLS handshake record carrying a ClientHello
    TooLarge, // a ClientHello longer than kMaxClientHello
};

// Checks the first kHelloPrefixLen bytes of a connection. Pure.
HelloPrefix check_hello_prefix(std::span<const std::uint8_t> prefix);

class Prelude {
public:
    enum class Outcome {
        Ready,    // a sane ClientHello is waiting: hand the socket to TLS
        Closed,   // EOF or a socket error before 9 bytes
        NotTls,   // see HelloPrefix
        TooLarge, //
    };
    using OnDone = std::function<void(Prelude&, Outcome)>;

    Prelude(loop::Loop& loop, UniqueFd fd, std::string peer, std::string source,
            HandshakeBudget::Id id, std::uint64_t accepted_ms, OnDone on_done);
    Prelude(const Prelude&) = delete;
    Prelude& operator=(const Prelude&) = delete;

    const std::string& peer() const { return peer_; }     // "[addr]:port"
    const std::string& source() const { return source_; } // "addr"
    HandshakeBudget::Id id() const { return id_; }
    std::uint64_t accepted_ms() const { return accepted_ms_; }
    // Stops watching the socket (done, or being closed by the router).
    void stop() { poll_.watch(0); }
    // The socket, with SO_RCVLOWAT back at 1, for the TLS stream.
    UniqueFd take_fd();

private:
    void on_readable();

    UniqueFd fd_;
    std::string peer_;
    std::string source_;
    HandshakeBudget::Id id_;
    std::uint64_t accepted_ms_;
    OnDone on_done_;
    loop::Poll poll_;
};

} // namespace enftun::router
