#include "enftun/router/router_status.hpp"

namespace enftun::router {

std::string_view handshake_failure_name(HandshakeFailure kind) {
    switch (kind) {
    case HandshakeFailure::PerSourceCap:
        return "per_source_cap";
    case HandshakeFailure::Evicted:
        return "evicted";
    case HandshakeFailure::FirstByteTimeout:
        return "first_byte_timeout";
    case HandshakeFailure::NotTls:
        return "not_tls";
    case HandshakeFailure::HelloTooLarge:
        return "hello_too_large";
    case HandshakeFailure::ClosedBeforeTls:
        return "closed_before_tls";
    case HandshakeFailure::Timeout:
        return "timeout";
    case HandshakeFailure::Certificate:
        return "certificate";
    case HandshakeFailure::PeerClosed:
        return "peer_closed";
    case HandshakeFailure::TlsError:
    case HandshakeFailure::kCount:
        break;
    }
    return "tls_error";
}

HandshakeFailure classify_link_failure(std::string_view reason, bool policy_refused) {
    if (policy_refused) {
        return HandshakeFailure::Certificate;
    }
    if (reason == "TLS handshake timed out") {
        return HandshakeFailure::Timeout;
    }
    if (reason == "TLS handshake failed: peer sent close_notify") {
        return HandshakeFailure::PeerClosed;
    }
    // OpenSSL's reasons for a client certificate that is missing or does
    // not verify all name it: "peer did not return a certificate",
    // "certificate verify failed", "tlsv13 alert certificate required", ...
    if (reason.find("certificate") != std::string_view::npos) {
        return HandshakeFailure::Certificate;
    }
    // The peer went away mid-handshake (tls_stream.cpp's words, OpenSSL's,
    // the kernel's).
    for (std::string_view gone :
         {"without ending TLS", "unexpected eof", "Connection reset by peer"}) {
        if (reason.find(gone) != std::string_view::npos) {
            return HandshakeFailure::PeerClosed;
        }
    }
    return HandshakeFailure::TlsError;
}

} // namespace enftun::router
