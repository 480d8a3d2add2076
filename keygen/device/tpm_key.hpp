// Where the device key is made: by OpenSSL's CSPRNG, written as a PEM key
// file (make_device_key), or with --tpm inside the TPM of the config's
// identity.tpm, under its parent and with its password, written as the
// TPM's blob (`TSS2 PRIVATE KEY`), which is useless without that TPM.
// Either way the key file gets the same treatment (0600, atomic write).
#pragma once

#include "key_material.hpp"

#include "enftun/config/client_config.hpp"
#include "enftun/tls/tpm_provider.hpp"

#include <memory>
#include <string>

namespace enftun::keygen {

class KeySource {
public:
    // With tpm, connects to the TPM now, before anything is asked or sent.
    // Errors: --tpm without an identity.tpm group, the group without --tpm
    // (enftun would read key_file as a TPM blob), a persistent handle as
    // key_file (there is no file to write), the TPM's errors (logged by
    // tls::TpmProvider, one line each).
    static Outcome<KeySource> create(bool tpm, const config::IdentityConfig& identity);

    bool in_tpm() const { return tpm_ != nullptr; }
    // A fresh EC P-256 key (in the TPM: tls::tpm_signing_key's wrapper, so
    // the CSR is signed by the TPM). Errors: the OpenSSL or TPM reason.
    Outcome<tls::PkeyPtr> make() const;
    // The current identity key held in the TPM (key_file: its blob or
    // handle), as libssl signs with it: renew's mutual TLS. Errors: not a
    // TPM key source; the TPM's (tls::TpmProvider::load_key, logged).
    Outcome<tls::PkeyPtr> load_current(const std::string& key_file) const;
    // What the key file holds: the PKCS#8 PEM key, or the TPM blob.
    Outcome<SecretPem> pem(EVP_PKEY* key) const;
    // A key make() made earlier, written to path (the PEM key or the TPM
    // blob), loaded back as make() returns it: a renewal retried with the
    // key whose answer was lost. Errors: unreadable file, not a key; the
    // TPM's.
    Outcome<tls::PkeyPtr> load_made(const std::string& path) const;

private:
    explicit KeySource(std::shared_ptr<tls::TpmProvider> tpm) : tpm_(std::move(tpm)) {}
    // A key the TPM holds, wrapped so that libcrypto signs with it in the TPM.
    Outcome<tls::PkeyPtr> signer_of(tls::PkeyPtr key) const;
    std::shared_ptr<tls::TpmProvider> tpm_; // null: a software key
};

} // namespace enftun::keygen
