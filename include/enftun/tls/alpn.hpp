// ALPN (RFC 7301) negotiation of the wire protocol version (PROTOCOL.md
// "Negotiation"): the client offers "enftun/2" then "enftun/1", or nothing
// when it speaks version 1 only; the server selects enftun/2 when offered
// and allowed, else enftun/1 when offered, else answers nothing. No answer
// or enftun/1 means version 1, byte for byte, so the original enftun (no
// ALPN) and routers that ignore ALPN are unaffected.
//
// Lifetime: settings live in the SSL or SSL_CTX; nothing to free.
#pragma once

#include "enftun/util/result.hpp"

#include <openssl/ssl.h>

namespace enftun::tls {

// Client side, on one connection before its handshake: offer versions up to
// max_version (1: offer nothing). Errors: Tls (OpenSSL refused the list).
[[nodiscard]] Status offer_protocols(SSL* ssl, unsigned max_version);
// Server side: select versions up to max_version.
void accept_protocols(SSL_CTX* ctx, unsigned max_version);
// The version in force on a connection whose handshake is done: 2 if
// "enftun/2" was selected, else 1.
unsigned negotiated_version(const SSL* ssl);

} // namespace enftun::tls
