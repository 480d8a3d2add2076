#include "enftun/tls/tls_stream.hpp"

#include "enftun/log/log.hpp"
#include "enftun/tls/identity.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace enftun::tls {

namespace {

// The error queue must be empty before an SSL call, for SSL_get_error to
// judge that call alone. ERR_clear_error walks all 16 slots (~800
// instructions in OpenSSL 3.0, 3% of the client's per-packet work,
// bench/README.md); peeking first makes the usual, empty case cheap.
void clear_errors() {
    if (ERR_peek_error() != 0) {
        ERR_clear_error();
    }
}

} // namespace

Result<TlsStream> TlsStream::create(const TlsContext& ctx, UniqueFd socket, std::string peer_name) {
    ERR_clear_error();
    SslPtr ssl = ctx.new_ssl();
    auto check = std::make_unique<PeerCheck>();
    check->policy = &ctx.policy();
    check->role = ctx.role();
    check->name = std::move(peer_name);
    if (!ssl || SSL_set_fd(ssl.get(), socket.get()) != 1 ||
        !attach_peer_check(ssl.get(), check.get())) {
        ENFTUN_LOG_ERROR("cannot set up TLS session: %s", drain_errors().c_str());
        return make_error(Errc::Tls, "cannot set up TLS session");
    }
    if (ctx.role() == Role::Client) {
        SSL_set_connect_state(ssl.get());
    } else {
        SSL_set_accept_state(ssl.get());
    }
    auto reads = std::make_unique<SocketReads>();
    BIO* bio = SSL_get_rbio(ssl.get()); // SSL_set_fd: one socket BIO, both ways
    BIO_set_callback_arg(bio, reinterpret_cast<char*>(reads.get()));
    BIO_set_callback_ex(bio, on_socket_bio);
    auto usage = std::make_unique<KeyUsage>(ctx.key_update_records());
    SSL_set_msg_callback(ssl.get(), on_message);
    SSL_set_msg_callback_arg(ssl.get(), usage.get());
    return TlsStream(std::move(socket), std::move(reads), std::move(check), std::move(usage),
                     std::move(ssl));
}

// Sees every socket BIO operation after it ran. A read that returned less
// than asked (with read-ahead OpenSSL asks for its whole free buffer) or
// nothing at all emptied the socket's receive queue.
long TlsStream::on_socket_bio(BIO* bio, int oper, const char*, std::size_t len, int, long, int ret,
                              std::size_t* processed) noexcept {
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        auto* reads = reinterpret_cast<SocketReads*>(BIO_get_callback_arg(bio));
        reads->drained = ret <= 0 || processed == nullptr || *processed < len;
    }
    return ret;
}

// Called for every record and handshake message, both ways: kept cheap.
void TlsStream::on_message(int write_p, int, int content_type, const void* buf, std::size_t len,
                           SSL*, void* arg) noexcept {
    // A handshake message after the handshake: type, 3-byte length, body.
    if (content_type != SSL3_RT_HANDSHAKE || len < 1 ||
        static_cast<const std::uint8_t*>(buf)[0] != SSL3_MT_KEY_UPDATE) {
        return;
    }
    auto* usage = static_cast<KeyUsage*>(arg);
    if (write_p == 0) {
        usage->peer_renewed();
    } else {
        usage->sent_one();
    }
}

IoResult TlsStream::classify(int rc) {
    int err = SSL_get_error(ssl_.get(), rc);
    int saved_errno = errno;
    switch (err) {
    case SSL_ERROR_WANT_READ:
        return {Io::WantRead};
    case SSL_ERROR_WANT_WRITE:
        return {Io::WantWrite};
    case SSL_ERROR_ZERO_RETURN:
        return {Io::Closed};
    case SSL_ERROR_SYSCALL: {
        std::string queue = drain_errors();
        if (queue.empty() && saved_errno == 0) {
            error_ = "the peer ended the TCP connection without ending TLS";
        } else {
            error_ = (saved_errno != 0 ? strerror(saved_errno) : "") + queue;
        }
        return {Io::Error};
    }
    default: {
        long verify = SSL_get_verify_result(ssl_.get());
        std::string queue = drain_errors();
        if (!check_->refusal.empty()) {
            error_ = check_->refusal; // our policy's reason, not OpenSSL's
            return {Io::Error};
        }
        if (verify != X509_V_OK) {
            error_ = std::string("peer certificate: ") + X509_verify_cert_error_string(verify) +
                     (check_->validity_note.empty() ? "" : ": " + check_->validity_note) + " (" +
                     queue + ")";
        } else {
            error_ = queue;
        }
        return {Io::Error};
    }
    }
}

IoResult TlsStream::handshake() {
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) {
        return {Io::Done};
    }
    return classify(rc);
}

IoResult TlsStream::read(MutBytes buf) {
    if (session_spent()) {
        return {Io::Error};
    }
    clear_errors();
    errno = 0;
    std::size_t n = 0;
    if (SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n) == 1) {
        usage_->read_one();
        return {Io::Done, n};
    }
    return classify(0);
}

IoResult TlsStream::write(Bytes buf) {
    if (session_spent()) {
        return {Io::Error};
    }
    // While OpenSSL is in the middle of a message of the peer's (one split
    // over records: SSL_in_init) no KeyUpdate can be made; the write goes
    // on as without one (OpenSSL says what it waits for) and the renewal
    // comes with a later write. A WantWrite here, the socket writable,
    // would have the caller poll for writable and spin.
    if (renewal_due_ && !SSL_in_init(ssl_.get()) && !send_key_update()) {
        return {Io::WantWrite}; // nothing written: the same bytes come again
    }
    clear_errors();
    errno = 0;
    std::size_t n = 0;
    if (SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &n) == 1) {
        usage_->wrote(n);
        renewal_due_ = (usage_->update_due() || usage_->peer_overdue()) &&
                       SSL_version(ssl_.get()) >= TLS1_3_VERSION;
        return {Io::Done, n};
    }
    const int saved_errno = errno;
    IoResult r = classify(0);
    // A write the peer's end refused often follows the peer's fatal alert:
    // the router refusing a certificate (revoked) once a TLS 1.3 client
    // has finished its side and sent its first frames.
    if (r.status == Io::Error && (saved_errno == EPIPE || saved_errno == ECONNRESET)) {
        (void)read_peer_alert();
    }
    return r;
}

// While a KeyUpdate waits in OpenSSL for room in the socket, SSL_read
// returns nothing either; with a peer in the same state, both sockets full,
// each would wait for the other to read. So a KeyUpdate is made only when
// it can go out whole at once: after a write that completed (SSL_key_update
// does not check for a record still half sent), with nothing of OpenSSL's
// own under way (write() checks SSL_in_init and goes on without it; an
// answer owed to a peer's request merges with ours: one KeyUpdate renews
// our key once), and with the socket writable (a poll, once per key
// update). Until then write() writes nothing and says WantWrite.
bool TlsStream::send_key_update() {
    pollfd p{fd_.get(), POLLOUT, 0};
    if (poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
        return false;
    }
    renewal_due_ = false;
    const bool ask = usage_->peer_overdue();
    if (SSL_key_update(ssl_.get(), ask ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) !=
        1) {
        ERR_clear_error();
        return true;
    }
    usage_->renewed(ask);
    // Sends it now. Should the socket not take it all after all, the next
    // SSL call sends the rest first; an error shows in the next call too.
    (void)SSL_do_handshake(ssl_.get());
    ERR_clear_error();
    return true;
}

bool TlsStream::session_spent() {
    if (!usage_->session_spent() || SSL_version(ssl_.get()) >= TLS1_3_VERSION) {
        return false;
    }
    error_ = "this TLS 1.2 session's keys reached their record limit (RFC 8446 5.5) and "
             "TLS 1.2 cannot renew them: reconnect";
    return true;
}

bool TlsStream::read_peer_alert() {
    constexpr int kMaxReads = 64;       // bounded: 1 MiB of records at most
    static std::uint8_t scratch[16384]; // one loop thread; what it gets is dropped
    for (int i = 0; i < kMaxReads; ++i) {
        clear_errors();
        errno = 0;
        std::size_t n = 0;
        if (SSL_read_ex(ssl_.get(), scratch, sizeof scratch, &n) == 1) {
            continue;
        }
        if (SSL_get_error(ssl_.get(), 0) != SSL_ERROR_SSL) {
            ERR_clear_error();
            return false;
        }
        (void)classify(0); // the alert (or the certificate check) becomes error()
        return true;
    }
    return false;
}

void TlsStream::shutdown() {
    ERR_clear_error();
    // One call queues and tries to send our close_notify; we do not wait for
    // the peer's (PROTOCOL.md: "when it can").
    if (SSL_is_init_finished(ssl_.get()) && !(SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN)) {
        SSL_shutdown(ssl_.get());
    }
    ERR_clear_error();
}

void TlsStream::free_buffers() {
    // Returns 0 when a buffer still holds data (a partial record); then the
    // buffers stay, which is what we want.
    SSL_free_buffers(ssl_.get());
}

Result<proto::Ipv6Addr> TlsStream::peer_address() const {
    X509* peer = SSL_get0_peer_certificate(ssl_.get());
    if (peer == nullptr) {
        return make_error(Errc::Identity, "peer presented no certificate");
    }
    return address_from_cert(peer);
}

std::string TlsStream::describe() const {
    return version_name() + " " + cipher_name() + (protocol_version() == 2 ? " enftun/2" : "");
}

std::string TlsStream::version_name() const {
    return SSL_get_version(ssl_.get());
}

std::string TlsStream::cipher_name() const {
    // "(NONE)" before a handshake, as OpenSSL names a missing cipher.
    return SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_.get()));
}

unsigned TlsStream::protocol_version() const {
    return negotiated_version(ssl_.get());
}

} // namespace enftun::tls
