#include "enftun/tls/alpn.hpp"

#include <cstdint>
#include <cstring>

namespace enftun::tls {

namespace {

// Wire format of a protocol name list: length-prefixed names, preferred first.
constexpr unsigned char kOffer[] = {8, 'e', 'n', 'f', 't', 'u', 'n', '/', '2',
                                    8, 'e', 'n', 'f', 't', 'u', 'n', '/', '1'};
constexpr unsigned char kV2[] = {'e', 'n', 'f', 't', 'u', 'n', '/', '2'};
constexpr unsigned char kV1[] = {'e', 'n', 'f', 't', 'u', 'n', '/', '1'};

bool same(const unsigned char* p, unsigned len, const unsigned char (&name)[8]) {
    return len == sizeof name && std::memcmp(p, name, sizeof name) == 0;
}

// Picks from the client's list (untrusted: every length is checked against
// the list's end). arg holds the highest version this server selects.
int on_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
              unsigned int inlen, void* arg) noexcept {
    const auto max_version = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(arg));
    const unsigned char* v1 = nullptr;
    for (unsigned i = 0; i < inlen;) {
        const unsigned len = in[i];
        if (len == 0 || len > inlen - i - 1) {
            return SSL_TLSEXT_ERR_NOACK; // OpenSSL checks the list; be safe anyway
        }
        const unsigned char* name = in + i + 1;
        if (max_version >= 2 && same(name, len, kV2)) {
            *out = name;
            *outlen = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        if (same(name, len, kV1)) {
            v1 = name;
        }
        i += 1 + len;
    }
    if (v1 != nullptr) {
        *out = v1;
        *outlen = sizeof kV1;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK; // no answer: version 1
}

} // namespace

Status offer_protocols(SSL* ssl, unsigned max_version) {
    if (max_version < 2) {
        return {}; // version 1: the ClientHello carries no ALPN at all
    }
    // SSL_set_alpn_protos returns 0 on success.
    if (SSL_set_alpn_protos(ssl, kOffer, sizeof kOffer) != 0) {
        return make_error(Errc::Tls, "cannot set the ALPN protocol list");
    }
    return {};
}

void accept_protocols(SSL_CTX* ctx, unsigned max_version) {
    SSL_CTX_set_alpn_select_cb(ctx, on_select,
                               reinterpret_cast<void*>(std::uintptr_t{max_version}));
}

unsigned negotiated_version(const SSL* ssl) {
    const unsigned char* name = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &name, &len);
    return name != nullptr && same(name, len, kV2) ? 2 : 1;
}

} // namespace enftun::tls
