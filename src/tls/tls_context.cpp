#include "enftun/tls/tls_context.hpp"

#include "enftun/fs/regular_file.hpp"
#include "enftun/log/log.hpp"
#include "enftun/tls/clock_floor.hpp"
#include "enftun/tls/key_file.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstring>

#include <cerrno>

namespace enftun::tls {

namespace {

// Read-ahead buffer: four full TLS records (RFC 8446 §5.2: at most 2^14
// bytes of plaintext plus 256 of expansion, plus the 5-byte header).
constexpr std::size_t kReadBuffer = 4 * (16384 + 256 + 5);

// TLS 1.2 suites: ephemeral ECDH (forward secrecy) with an AEAD cipher only;
// no CBC (Lucky13 and kin), no SHA-1 MACs, no static RSA or finite-field DH.
// TLS 1.3 suites (SSL_CTX_set_ciphersuites) keep OpenSSL's default, which
// is AEAD-only already.
constexpr const char* kTls12Ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                                      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

// Readable, and a regular file: OpenSSL reads it with fopen, which on a
// FIFO would wait for a writer, forever.
Status check_readable(const std::string& path, const char* what) {
    if (auto st = fs::require_regular_file(path); !st) {
        const int err = st.error().sys;
        ENFTUN_LOG_ERROR("%s %s: %s", what, path.c_str(),
                         st.error().code == Errc::Malformed ? st.error().what : strerror(err));
        return make_error(Errc::System, what, err);
    }
    return {};
}

Error tls_failure(const char* what, const std::string& path) {
    ENFTUN_LOG_ERROR("%s %s: %s", what, path.c_str(), drain_errors().c_str());
    return make_error(Errc::Tls, what);
}

} // namespace

Result<TlsContext> TlsContext::create(Role role, const Credentials& creds, PeerPolicy policy,
                                      const std::optional<TpmSettings>& tpm_settings) {
    for (auto [path, what] : {std::pair{&creds.ca_cert_file, "cannot read CA certificate file"},
                              std::pair{&creds.cert_file, "cannot read certificate file"}}) {
        if (auto st = check_readable(*path, what); !st) {
            return st.error();
        }
    }
    std::shared_ptr<TpmProvider> tpm;
    if (tpm_settings) {
        auto loaded = TpmProvider::load(*tpm_settings);
        if (!loaded) {
            return loaded.error();
        }
        tpm = std::move(*loaded);
    }
    auto key = tpm ? tpm->load_key(creds.key_file) : load_private_key(creds.key_file);
    if (!key) {
        return key.error();
    }
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr,
                                 role == Role::Client ? TLS_client_method() : TLS_server_method()));
    if (!ctx) {
        return tls_failure("cannot create TLS context", "");
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
        return tls_failure("cannot set the TLS 1.2 cipher list", "");
    }
    // No TLS 1.2 session tickets: we never resume, and a ticket is a key
    // that outlives the session (TLS 1.3 tickets are off below, for the router).
    // No TLS 1.2 renegotiation either way: a peer could otherwise run the
    // verify callback again long after the handshake, against a policy
    // (PeerCheck) only borrowed for the handshake, and a new handshake
    // inside a session is an attack surface we have no use for.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_load_verify_locations(ctx.get(), creds.ca_cert_file.c_str(), nullptr) != 1) {
        return tls_failure("cannot load CA certificate", creds.ca_cert_file);
    }
    // Key first: SSL_CTX_use_PrivateKey_file refuses a key that does not
    // match an already loaded certificate ("cannot load private key"), while
    // a certificate loaded after the key just drops a mismatched one, which
    // SSL_CTX_check_private_key then reports as what it is.
    if (SSL_CTX_use_PrivateKey(ctx.get(), key->get()) != 1) {
        return tls_failure("cannot load private key", creds.key_file);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), creds.cert_file.c_str()) != 1) {
        return tls_failure("cannot load certificate", creds.cert_file);
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
        return tls_failure("private key does not match certificate", creds.key_file);
    }
    int verify = SSL_VERIFY_PEER;
    if (role == Role::Server) {
        verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        // Clients never resume, so tickets would only cost a write per session.
        SSL_CTX_set_num_tickets(ctx.get(), 0);
        SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_verify(ctx.get(), verify, verify_peer);
    // Partial writes let the data path hand SSL_write a whole batch and keep
    // what did not fit; moving buffers let it retry from a compacted buffer.
    // The router releases idle buffers (most of its sessions are idle most
    // of the time); the client, with one busy link, would only pay a free and
    // a malloc of ~17 KiB each time a buffer runs empty.
    long mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
    if (role == Role::Server) {
        mode |= SSL_MODE_RELEASE_BUFFERS;
    }
    SSL_CTX_set_mode(ctx.get(), mode);
    // Read-ahead: one read() takes every record the socket holds (up to the
    // buffer), instead of a 5-byte header read plus a body read per record.
    // TlsStream::pending() (SSL_has_pending) covers the bytes it buffers.
    SSL_CTX_set_read_ahead(ctx.get(), 1);
    SSL_CTX_set_default_read_buffer_len(ctx.get(), kReadBuffer);
    // The clock cannot truly be before our own certificate's start
    // (clock_floor.hpp).
    policy.clock_floor = not_before(SSL_CTX_get0_certificate(ctx.get()));
    return TlsContext(role, std::move(tpm), std::move(ctx),
                      std::make_unique<PeerPolicy>(std::move(policy)));
}

std::string TlsContext::own_certificate_sha256_hex() const {
    X509* cert = SSL_CTX_get0_certificate(ctx_.get());
    Sha256 digest{};
    unsigned int n = 0;
    if (cert == nullptr || X509_digest(cert, EVP_sha256(), digest.data(), &n) != 1 ||
        n != digest.size()) {
        return "";
    }
    return format_sha256_hex(digest);
}

} // namespace enftun::tls
