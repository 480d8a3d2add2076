#include "tpm_key.hpp"

#include "enftun/tls/tpm_signer.hpp"

namespace enftun::keygen {

Outcome<KeySource> KeySource::create(bool tpm, const config::IdentityConfig& identity) {
    if (!tpm) {
        if (identity.tpm) {
            return Failure{"the config has an identity.tpm group, so enftun reads "
                           "identity.key_file as a TPM key blob: add --tpm to make the key "
                           "inside the TPM"};
        }
        return KeySource(nullptr);
    }
    if (!identity.tpm) {
        return Failure{"--tpm needs an identity.tpm group in the config (how to reach the "
                       "TPM; enftun reads key_file as a TPM blob only then)"};
    }
    if (identity.key_file.rfind("handle:", 0) == 0) {
        return Failure{"identity.key_file is a persistent handle (" + identity.key_file +
                       "): --tpm writes a key blob, so key_file must name a file"};
    }
    auto provider = tls::TpmProvider::load(tls::tpm_settings(*identity.tpm));
    if (!provider) {
        return Failure{"the TPM: " + std::string(provider.error().what)};
    }
    return KeySource(std::move(*provider));
}

Outcome<tls::PkeyPtr> KeySource::make() const {
    if (!tpm_) {
        return make_device_key();
    }
    auto key = tpm_->generate_key();
    if (!key) {
        return Failure{"the TPM: " + std::string(key.error().what)};
    }
    return signer_of(std::move(*key));
}

// What the CSR and the reply's checks use: signatures by the TPM in the
// default library context (tpm_signer.hpp).
Outcome<tls::PkeyPtr> KeySource::signer_of(tls::PkeyPtr key) const {
    auto signer = tls::tpm_signing_key(tpm_, std::move(key));
    if (!signer) {
        return Failure{"the TPM: " + std::string(signer.error().what)};
    }
    return std::move(*signer);
}

Outcome<tls::PkeyPtr> KeySource::load_current(const std::string& key_file) const {
    if (!tpm_) {
        return Failure{"the current key is not held in a TPM"};
    }
    auto key = tpm_->load_key(key_file);
    if (!key) {
        return Failure{"the TPM: " + std::string(key.error().what)};
    }
    return std::move(*key);
}

Outcome<tls::PkeyPtr> KeySource::load_made(const std::string& path) const {
    if (!tpm_) {
        return load_key_file(path);
    }
    auto key = tpm_->load_key(path);
    if (!key) {
        return Failure{"the TPM: " + std::string(key.error().what)};
    }
    return signer_of(std::move(*key));
}

Outcome<SecretPem> KeySource::pem(EVP_PKEY* key) const {
    if (!tpm_) {
        return private_key_pem(key);
    }
    EVP_PKEY* tpm_key = tls::tpm_key_of(key);
    if (tpm_key == nullptr) {
        return Failure{"the TPM: not a key made in the TPM"};
    }
    auto blob = tpm_->key_blob_pem(tpm_key);
    if (!blob) {
        return Failure{"the TPM: " + std::string(blob.error().what)};
    }
    return SecretPem(std::move(*blob));
}

} // namespace enftun::keygen
