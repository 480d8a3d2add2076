// TlsStream: one nonblocking TLS connection over a connected TCP socket.
// It owns the socket and the SSL; it never blocks and never waits: every call
// returns at once with what happened and what the caller should wait for
// (readable or writable). The TlsContext it came from must outlive it.
#pragma once

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/alpn.hpp"
#include "enftun/tls/key_usage.hpp"
#include "enftun/tls/tls_context.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <openssl/bio.h>

#include <cstddef>
#include <memory>
#include <string>

namespace enftun::tls {

enum class Io {
    Done,      // the call made progress; n says how much
    WantRead,  // wait until the socket is readable, then call again
    WantWrite, // wait until the socket is writable, then call again
    Closed,    // the peer sent close_notify (a clean end of stream)
    Error,     // fatal: the connection is unusable; error() says why
};

struct IoResult {
    Io status;
    std::size_t n = 0;
};

class TlsStream {
public:
    // Takes ownership of a connected, nonblocking socket. On the client
    // side, peer_name (an IP literal or a DNS name) is what the router's
    // certificate must name (peer_policy.hpp); the router passes "". A
    // client with "" checks no name: only unit tests and the load
    // generator do that; enftun always passes one.
    // Errors: Tls (SSL allocation or setup failed, or a name OpenSSL refuses).
    static Result<TlsStream> create(const TlsContext& ctx, UniqueFd socket,
                                    std::string peer_name = {});

    int fd() const { return fd_.get(); }

    // Drives the handshake. Done once it has completed and the peer's
    // certificate verified against the CA and the context's PeerPolicy.
    // An Error from a policy refusal is not logged here: refusal() and
    // error() say why.
    IoResult handshake();
    // "router certificate refused: wrong name: ..." after the PeerPolicy
    // refused the peer; "" otherwise.
    const std::string& refusal() const { return check_->refusal; }
    // Reads decrypted bytes into buf. Done with n > 0, or Want*/Closed/Error.
    IoResult read(MutBytes buf);
    // Writes up to buf.size() bytes (at most one TLS record per call: the
    // context enables partial writes). After WantWrite, the next call may pass
    // a different buffer that starts with the same unsent bytes.
    // Both read() and write() count the records the keys protected
    // (key_usage.hpp). TLS 1.3: once due, the next write() first sends a
    // KeyUpdate, when the socket can take it at once; until then it says
    // WantWrite and writes nothing (while OpenSSL is reading a message of
    // the peer's split over records, it writes as usual and the KeyUpdate
    // waits for a later write). TLS 1.2 cannot renew its keys: at the
    // limit, read() and write() return Error ("... reconnect").
    IoResult write(Bytes buf);
    // TLS 1.3 KeyUpdate messages sent (ours, and OpenSSL's answers to the
    // peer's requests) and received, as OpenSSL's message callback saw them;
    // and how many of ours asked the peer for one.
    std::uint64_t key_updates() const { return usage_->sent_updates(); }
    std::uint64_t peer_key_updates() const { return usage_->peer_renewals(); }
    std::uint64_t key_update_requests() const { return usage_->requests(); }
    // After the socket failed under a write (EPIPE, ECONNRESET: write()
    // calls it then) or a poll: reads what the socket and OpenSSL's
    // read-ahead still hold, at most 1 MiB, dropping data. True if that
    // ended in a TLS error, the peer's fatal alert ("certificate revoked")
    // most often, which error() then names instead of "Broken pipe".
    bool read_peer_alert();
    // Sends close_notify once; best effort, never waits for the peer's.
    void shutdown();
    // Frees OpenSSL's record buffers if they hold nothing (SSL_free_buffers);
    // they are allocated again by the next read or write. For idle links.
    void free_buffers();
    // Whether SSL holds bytes not yet returned by read(): decrypted, or (with
    // read-ahead) raw bytes already taken from the socket, which no readable
    // event will announce again.
    bool pending() const { return SSL_has_pending(ssl_.get()) == 1; }
    // Whether the last read from the socket (by OpenSSL, for any call) got
    // less than it asked for, or nothing: the socket held no more then.
    // With !pending() a further read() would only find EAGAIN, so a reader
    // may go back to the (level-triggered) poll instead.
    bool socket_drained() const { return reads_->drained; }

    // The verified peer's tunnel address (its certificate CN).
    // Errors: Identity.
    Result<proto::Ipv6Addr> peer_address() const;
    // The verified peer's certificate (borrowed from the SSL), or null.
    X509* peer_certificate() const { return SSL_get0_peer_certificate(ssl_.get()); }
    // "TLSv1.3 TLS_AES_256_GCM_SHA384" (and " enftun/2" on version 2), for the log.
    std::string describe() const;
    // "TLSv1.3" and "TLS_AES_256_GCM_SHA384": describe()'s parts, for status.
    std::string version_name() const;
    std::string cipher_name() const;
    // The wire protocol version negotiated by ALPN (alpn.hpp): 1 or 2.
    unsigned protocol_version() const;
    // Client side, before the handshake: offer versions up to max_version.
    // Errors: Tls.
    [[nodiscard]] Status offer_protocols(unsigned max_version) {
        return tls::offer_protocols(ssl_.get(), max_version);
    }
    // Why the last call returned Error ("" before any): OpenSSL's error
    // queue, errno or the certificate check. Not logged here, so that the
    // owner logs one line per failure, with this in it.
    const std::string& error() const { return error_; }

private:
    // What the socket BIO's callback saw; on the heap, so its address stays
    // put when the stream is moved.
    struct SocketReads {
        bool drained = false;
    };

    TlsStream(UniqueFd fd, std::unique_ptr<SocketReads> reads, std::unique_ptr<PeerCheck> check,
              std::unique_ptr<KeyUsage> usage, SslPtr ssl)
        : fd_(std::move(fd)), reads_(std::move(reads)), check_(std::move(check)),
          usage_(std::move(usage)), ssl_(std::move(ssl)) {}
    IoResult classify(int rc);
    // Sends the KeyUpdate that is due (TLS 1.3; write() has checked that
    // OpenSSL is not mid-message) if the socket takes it at once; false if
    // not yet (write() then says WantWrite).
    bool send_key_update();
    // Sees every TLS message, to notice the peer's KeyUpdates.
    static void on_message(int write_p, int version, int content_type, const void* buf,
                           std::size_t len, SSL* ssl, void* arg) noexcept;
    // TLS 1.2 at twice the update threshold: sets error_, returns true.
    bool session_spent();
    static long on_socket_bio(BIO* bio, int oper, const char* argp, std::size_t len, int argi,
                              long argl, int ret, std::size_t* processed) noexcept;

    UniqueFd fd_;
    std::unique_ptr<SocketReads> reads_; // outlives ssl_, whose BIO points to it
    std::unique_ptr<PeerCheck> check_;   // outlives ssl_, whose ex_data points to it
    std::unique_ptr<KeyUsage> usage_;    // outlives ssl_, whose message callback counts in it
    SslPtr ssl_;
    bool renewal_due_ = false; // a KeyUpdate goes before the next write
    std::string error_;
};

} // namespace enftun::tls
