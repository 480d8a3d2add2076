// A TPM-held key in the form libssl can sign with, in the process's default
// library context.
//
// Why: OpenSSL 3.0 picks a signature implementation by property query
// first and tries the key's own provider only when exporting the key to
// the chosen one fails. The tpm2 provider exports a key's public half, so
// with the default provider preferred the handshake signs with an empty
// private key ("missing private key"); with the tpm2 provider preferred
// for signatures, it also verifies the router's signatures, in the TPM,
// and fails ("cannot duplicate context"). One SSL_CTX has one property
// query for both. So libssl gets an EC key of the default library context
// whose public half is the TPM key's and whose signing method hands the
// digest to the TPM key (EVP_PKEY_sign through the tpm2 provider): hashing
// and the router's signatures stay in software, the private key stays in
// the TPM. The method is OpenSSL's EC_KEY_METHOD, deprecated in 3.0 but
// the one hook 3.0 offers for this ("foreign" keys take the legacy path).
//
// EC keys only (what enftun-keygen --tpm and the original's keys are).
#pragma once

#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"

#include <memory>

namespace enftun::tls {

class TpmProvider;

// The wrapper owns tpm_key, and a reference to provider (whose library
// context the key lives in), so it may outlive the caller's references.
// Errors: Tls (not an EC key; OpenSSL failures), logged.
Result<PkeyPtr> tpm_signing_key(std::shared_ptr<const TpmProvider> provider, PkeyPtr tpm_key);

// The TPM key a wrapper from tpm_signing_key holds (for its blob), or null
// if signer is not such a wrapper. Borrowed: it lives as long as signer.
EVP_PKEY* tpm_key_of(EVP_PKEY* signer);

} // namespace enftun::tls
