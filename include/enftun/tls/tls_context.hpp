// TlsContext owns an SSL_CTX configured for one side of the tunnel:
// TLS 1.2 minimum (1.2 with ECDHE+AEAD suites only, no session tickets),
// mutual certificate authentication against one CA file plus the
// PeerPolicy (peer_policy.hpp: EKU, name, pins, client addresses), and our
// certificate and key (checked to match; the key file's permissions too,
// key_file.hpp), or a key held in a TPM (tpm_provider.hpp, tpm_signer.hpp:
// the handshake's signature is made in the TPM, all else in software, and
// the context keeps the provider's connection alive). Sessions are created from
// it with new_ssl(). Cheap to share: all streams borrow it, so it must
// outlive every TlsStream made from it.
#pragma once

#include "enftun/tls/key_usage.hpp"
#include "enftun/tls/peer_policy.hpp"
#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/tls/tpm_provider.hpp"
#include "enftun/util/result.hpp"

#include <memory>
#include <optional>
#include <string>

namespace enftun::tls {

struct Credentials {
    std::string ca_cert_file; // verifies the peer's chain
    std::string cert_file;    // our chain, PEM, leaf first
    std::string key_file;     // our private key, PEM (with a TPM: its blob or handle)
};

class TlsContext {
public:
    // Errors: Tls (bad CA file, certificate, key, or key/cert mismatch); the
    // OpenSSL error queue is logged as one line. System when a file cannot be
    // read (sys = errno), so "permission denied" is reported as such.
    // Identity when the key file's permissions are too open. With tpm, the
    // errors of TpmProvider::load and load_key.
    // tpm: the key is held in that TPM (tpm_settings(identity.tpm)).
    static Result<TlsContext> create(Role role, const Credentials& creds, PeerPolicy policy = {},
                                     const std::optional<TpmSettings>& tpm = std::nullopt);

    Role role() const { return role_; }
    const PeerPolicy& policy() const { return *policy_; }
    SSL_CTX* get() const { return ctx_.get(); }
    // SHA-256 of our certificate's DER, 64 lower-case hex digits (as
    // `openssl x509 -outform DER | sha256sum`); "" if there is none.
    std::string own_certificate_sha256_hex() const;
    // A new SSL for this context, or null (allocation failure).
    SslPtr new_ssl() const { return SslPtr(SSL_new(ctx_.get())); }
    // Records a session's keys protect before they are renewed (key_usage.hpp):
    // kKeyUpdateRecords; tests lower it to see renewals within a few frames.
    std::uint64_t key_update_records() const { return key_update_records_; }
    void set_key_update_records(std::uint64_t records) { key_update_records_ = records; }

private:
    TlsContext(Role role, std::shared_ptr<TpmProvider> tpm, SslCtxPtr ctx,
               std::unique_ptr<PeerPolicy> policy)
        : role_(role), tpm_(std::move(tpm)), ctx_(std::move(ctx)), policy_(std::move(policy)) {}
    Role role_;
    std::shared_ptr<TpmProvider> tpm_; // null without a TPM; outlives ctx_
    SslCtxPtr ctx_;
    std::unique_ptr<PeerPolicy> policy_; // on the heap: streams point at it
    std::uint64_t key_update_records_ = kKeyUpdateRecords;
};

} // namespace enftun::tls
