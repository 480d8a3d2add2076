// The identity key held in a TPM 2.0, through OpenSSL 3's `tpm2` provider
// (Debian package tpm2-openssl; a runtime plugin, nothing to link).
//
// TpmProvider owns an OSSL_LIB_CTX of its own with the `default` and `tpm2`
// providers: the rest of the process (the router, a client without a TPM,
// and TLS itself, which signs through tpm_signer.hpp's wrapper) never sees
// the plugin. The provider reaches the TPM through a TCTI it reads from
// TPM2OPENSSL_TCTI when it is loaded (its only setting OpenSSL 3.0 can pass
// at run time), so load() sets that variable; the provider's connection is
// made in load() and kept while the TpmProvider lives. One per process and
// settings: load() hands out the same one while it is alive. Not
// thread-safe (the provider's ESYS context is not); enftun has one thread.
//
// Errors are logged once, one line naming the cause, and returned as Tls
// (or System with errno for the device node).
#pragma once

#include "enftun/config/client_config.hpp"
#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace enftun::tls {

struct TpmSettings {
    // tpm2-tss TCTI loader string: "device:/dev/tpmrm0",
    // "mssim:host=H,port=P" (config "socket") or "swtpm:host=H,port=P".
    std::string tcti;
    std::string device; // the device node for "device", else ""
    std::optional<std::string> password;
    std::uint32_t parent = 0; // for new keys: 0 = the owner's primary key
};

TpmSettings tpm_settings(const config::TpmConfig& config);
// The same for identity.tpm when it is set.
std::optional<TpmSettings> tpm_settings(const config::IdentityConfig& identity);

class TpmProvider : public std::enable_shared_from_this<TpmProvider> {
public:
    // Errors (logged): System (the device node is missing or not
    // accessible, with the tss-group hint), Tls (the provider is not
    // installed; it cannot reach the TPM).
    static Result<std::shared_ptr<TpmProvider>> load(const TpmSettings& settings);

    ~TpmProvider();
    TpmProvider(const TpmProvider&) = delete;
    TpmProvider& operator=(const TpmProvider&) = delete;

    OSSL_LIB_CTX* libctx() const { return libctx_; }
    const TpmSettings& settings() const { return settings_; }

    // Loads key (a `TSS2 PRIVATE KEY` PEM file, permission-checked as
    // key_file.hpp says, or "handle:0x81xxxxxx") into the TPM and returns
    // it as libssl signs with it (tpm_signer.hpp: a default-context EC key
    // whose signatures the TPM makes; it keeps this provider alive), after
    // one test signature through it, so a wrong password shows now and
    // not in the first handshake. Errors (logged): System (the file cannot be read),
    // Identity (its permissions), Refused (not a TPM key; the TPM refuses the
    // blob: made by another TPM or under another parent; no key at the
    // handle; wrong password; the TPM in dictionary-attack lockout), Tls
    // (the TPM cannot sign with the key for another reason).
    Result<PkeyPtr> load_key(const std::string& key) const;

    // A new EC P-256 key made inside the TPM under settings().parent, with
    // settings().password as its authorization, as the provider's key
    // (key_blob_pem; wrap it with tpm_signing_key to sign with it in the
    // default library context). Errors: Tls (logged).
    Result<PkeyPtr> generate_key() const;

    // key as its `TSS2 PRIVATE KEY` PEM blob (the TPM's wrapping of the
    // private part: useless without this TPM). Errors: Tls.
    Result<std::string> key_blob_pem(EVP_PKEY* key) const;

private:
    TpmProvider(TpmSettings settings, OSSL_LIB_CTX* libctx, OSSL_PROVIDER* tpm2,
                OSSL_PROVIDER* fallback)
        : settings_(std::move(settings)), libctx_(libctx), tpm2_(tpm2), default_(fallback) {}

    TpmSettings settings_;
    OSSL_LIB_CTX* libctx_;
    OSSL_PROVIDER* tpm2_;
    OSSL_PROVIDER* default_;
};

} // namespace enftun::tls
