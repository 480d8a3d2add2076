// ConnectionGuard: bounds what unauthenticated peers may hold of
// enftun-enroll's thread pools. httplib gives each connection a pool thread
// and its read timeout counts per read, so a peer trickling a byte every few
// seconds (slowloris) would hold a thread for ever. The guard gives each
// connection a deadline for its TLS handshake and request header
// (header_seconds), then one for the body, the handler and the reply
// (rest_seconds). One source (an IPv4 address, an IPv6 /64) has at most
// max_per_source connections at a time with that header time; more (from
// the same source, while those are still before their header's end) get
// over_cap_header_seconds. So slow clients from one source hold at most
// max_per_source threads for long, while a burst of fast devices behind one
// NAT address still gets through (a handshake and a header take
// milliseconds); closing over-cap connections at once would refuse those.
// A connection past its deadline gets shutdown(SHUT_RDWR): httplib's
// blocked read returns, httplib closes the connection and frees the thread,
// the peer sees EOF.
//
// Size: httplib 0.11 keeps every header line of a request, with no limit
// on their number, in a multimap (some 80 bytes for a 5-byte "a:b\r\n"),
// so a peer streaming header lines for its 5 s would make the service
// grow by hundreds of MiB per connection. The guard counts the TLS record
// bytes a connection sends until the end of its request header (the
// handshake included: a message callback sees each record's header) and
// refuses it, as below, past max_header_bytes: its next read is an end of
// file, so nothing more of it is parsed. (The body is httplib's payload
// limit's.)
//
// Hooks into OpenSSL (httplib makes one SSL per connection from our
// SSL_CTX): attach() installs an info callback that registers the socket at
// handshake start, and an SSL ex_data free callback (SSL_free runs it
// before httplib closes the socket) that unregisters it, so the guard never
// touches a descriptor that was closed and reused. header_done() is called
// from the handler thread (httplib's pre-routing handler).
//
// Refusal (BoundedPool's overflow): run_refused() runs an httplib
// connection job on the calling thread with a thread-local mark; at its
// handshake start the guard puts /dev/null in place of the socket (dup3,
// which closes the TCP connection: the peer sees a reset or EOF), so OpenSSL
// reads EOF before a byte of the peer's and the handshake fails at once, no
// key exchange or signature done. httplib then closes the descriptor (now
// /dev/null's copy) as it does every connection's: nothing leaks, and the
// descriptor number stays the job's until then, so no other connection's
// socket can be hit.
//
// Closing (close_all_by): for an exit that must not wait for slow peers,
// every connection, open now or admitted later, gets a deadline no later
// than the given time; one whose handshake starts after it is refused as
// above.
//
// Threads: one watchdog thread of its own; everything else from httplib's
// pool threads, under one mutex. No errors: a socket the guard cannot place
// (no peer address) counts as one anonymous source.
#pragma once

#include "enftun/util/unique_fd.hpp"

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace enftun::enroll {

class ConnectionGuard {
public:
    using Clock = std::chrono::steady_clock;
    struct Limits {
        std::chrono::seconds header_seconds{5};
        std::chrono::seconds over_cap_header_seconds{1};
        std::chrono::seconds rest_seconds{30};
        std::size_t max_per_source = 8;
        // A device's handshake (its certificate chain included) and request
        // header take a few KiB.
        std::size_t max_header_bytes = 64 * 1024;
    };

    explicit ConnectionGuard(Limits limits);
    ~ConnectionGuard(); // stops the watchdog; must outlive every SSL_CTX attached
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

    // Installs the callbacks on ctx (before any connection).
    void attach(SSL_CTX& ctx);
    // The calling thread's connection has sent its whole request header.
    void header_done();
    // Runs job (an httplib connection job, which owns its socket) on this
    // thread with its connection refused in the handshake, as above.
    void run_refused(const std::function<void()>& job);
    // From any thread: no connection lives past `by` (see "Closing").
    void close_all_by(Clock::time_point by);

private:
    using Source = std::array<std::uint8_t, 16>;
    struct Entry {
        int fd;
        Source source;
        Clock::time_point deadline;
        bool counted;             // one of its source's max_per_source (header not done)
        bool shut;                // shutdown() done, or refused for its size
        std::size_t received = 0; // record bytes read before the header's end
        bool header_done = false;
    };

    static int ssl_index(); // the SSL ex_data slot, with on_free
    static void on_info(const SSL* ssl, int where, int ret);
    static void on_msg(int write_p, int version, int content_type, const void* buf, std::size_t len,
                       SSL* ssl, void* arg);
    void count_received(const SSL* ssl, std::size_t bytes);
    static void on_free(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl,
                        void* argp);
    void admit(const SSL* ssl);
    void refuse(const SSL* ssl) const;
    void forget(const SSL* ssl);
    void uncount(Entry& e); // under mutex_
    void watch();

    Limits limits_;
    UniqueFd null_fd_; // /dev/null, put in place of refused sockets
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    Clock::time_point close_by_ = Clock::time_point::max(); // close_all_by()
    std::map<const SSL*, Entry> entries_;
    std::map<Source, std::size_t> per_source_;
    std::thread watchdog_;
};

} // namespace enftun::enroll
