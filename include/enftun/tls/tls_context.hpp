// TlsContext owns an SSL_CTX configured for one side of the tunnel:
// TLS 1.2 minimum, mutual certificate authentication against one CA file,
// and our certificate and key (checked to match). Sessions are created from
// it with new_ssl(). Cheap to share: all streams borrow it, so it must
// outlive every TlsStream made from it.
#pragma once

#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"

#include <string>

namespace enftun::tls {

enum class Role { Client, Server };

struct Credentials {
    std::string ca_cert_file; // verifies the peer's chain
    std::string cert_file;    // our chain, PEM, leaf first
    std::string key_file;     // our private key, PEM
};

class TlsContext {
public:
    // Errors: Tls (bad CA file, certificate, key, or key/cert mismatch); the
    // OpenSSL error queue is logged as one line. System when a file cannot be
    // read (sys = errno), so "permission denied" is reported as such.
    static Result<TlsContext> create(Role role, const Credentials& creds);

    Role role() const { return role_; }
    SSL_CTX* get() const { return ctx_.get(); }
    // A new SSL for this context, or null (allocation failure).
    SslPtr new_ssl() const { return SslPtr(SSL_new(ctx_.get())); }

private:
    TlsContext(Role role, SslCtxPtr ctx) : role_(role), ctx_(std::move(ctx)) {}
    Role role_;
    SslCtxPtr ctx_;
};

} // namespace enftun::tls
