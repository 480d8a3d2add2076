// EC_KEY, EC_KEY_METHOD and EVP_PKEY_get1_EC_KEY are deprecated in OpenSSL
// 3.0; tpm_signer.hpp says why they are used here, and only here.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "enftun/tls/tpm_signer.hpp"

#include "enftun/log/log.hpp"
#include "enftun/tls/tpm_provider.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>

namespace enftun::tls {

namespace {

using EcKeyPtr = std::unique_ptr<EC_KEY, Free<EC_KEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;

// What an EC_KEY wrapper carries in its ex_data: the TPM key and the
// provider that keeps its library context alive.
struct TpmKeyRef {
    std::shared_ptr<const TpmProvider> provider;
    PkeyPtr key;
};

void free_ref(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) noexcept {
    delete static_cast<TpmKeyRef*>(ptr);
}

int ref_index() {
    static const int index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EC_KEY, 0, nullptr, nullptr, nullptr, free_ref);
    return index;
}

// The digest's hash by its length, as the TPM signs with a scheme naming it.
const EVP_MD* md_for(int dlen) {
    switch (dlen) {
    case 32:
        return EVP_sha256();
    case 48:
        return EVP_sha384();
    case 64:
        return EVP_sha512();
    default:
        return nullptr;
    }
}

// EC_KEY_METHOD sign: a DER ECDSA signature of dgst, made by the TPM.
int tpm_sign(int, const unsigned char* dgst, int dlen, unsigned char* sig, unsigned int* siglen,
             const BIGNUM*, const BIGNUM*, EC_KEY* eckey) noexcept {
    const auto* ref = static_cast<const TpmKeyRef*>(EC_KEY_get_ex_data(eckey, ref_index()));
    const EVP_MD* md = md_for(dlen);
    if (ref == nullptr || md == nullptr) {
        return 0;
    }
    PkeyCtxPtr ctx(
        EVP_PKEY_CTX_new_from_pkey(ref->provider->libctx(), ref->key.get(), "provider=tpm2"));
    std::size_t len = static_cast<std::size_t>(ECDSA_size(eckey));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1 ||
        EVP_PKEY_sign(ctx.get(), sig, &len, dgst, static_cast<std::size_t>(dlen)) != 1) {
        return 0;
    }
    *siglen = static_cast<unsigned int>(len);
    return 1;
}

ECDSA_SIG* tpm_sign_sig(const unsigned char* dgst, int dlen, const BIGNUM* kinv, const BIGNUM* r,
                        EC_KEY* eckey) noexcept {
    unsigned char der[256];
    unsigned int len = 0;
    if (ECDSA_size(eckey) > static_cast<int>(sizeof der) ||
        tpm_sign(0, dgst, dlen, der, &len, kinv, r, eckey) != 1) {
        return nullptr;
    }
    const unsigned char* p = der;
    return d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
}

// One method for the process, made on first use and never freed (EC_KEYs
// point at it until they are freed).
const EC_KEY_METHOD* tpm_method() {
    static EC_KEY_METHOD* method = [] {
        EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_get_default_method());
        if (m == nullptr) {
            return m;
        }
        int (*setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
        EC_KEY_METHOD_get_sign(EC_KEY_get_default_method(), nullptr, &setup, nullptr);
        EC_KEY_METHOD_set_sign(m, tpm_sign, setup, tpm_sign_sig);
        return m;
    }();
    return method;
}

Error failure(const char* what) {
    ENFTUN_LOG_ERROR("%s: %s", what, drain_errors().c_str());
    return make_error(Errc::Tls, what);
}

} // namespace

Result<PkeyPtr> tpm_signing_key(std::shared_ptr<const TpmProvider> provider, PkeyPtr tpm_key) {
    ERR_clear_error();
    if (EVP_PKEY_is_a(tpm_key.get(), "EC") != 1) {
        ENFTUN_LOG_ERROR("the TPM key is not an EC key: enftun signs with EC keys only "
                         "(enftun-keygen --tpm makes one)");
        return make_error(Errc::Tls, "TPM key is not an EC key");
    }
    // The public half, in the default library context.
    unsigned char* der = nullptr;
    const int der_len = i2d_PUBKEY(tpm_key.get(), &der);
    const unsigned char* p = der;
    PkeyPtr pub(der_len > 0 ? d2i_PUBKEY(nullptr, &p, der_len) : nullptr);
    OPENSSL_free(der);
    EcKeyPtr ec(pub ? EVP_PKEY_get1_EC_KEY(pub.get()) : nullptr);
    const EC_KEY_METHOD* method = tpm_method();
    if (!ec || method == nullptr || EC_KEY_set_method(ec.get(), method) != 1) {
        return failure("cannot wrap the TPM key for TLS");
    }
    auto* ref = new TpmKeyRef{std::move(provider), std::move(tpm_key)};
    if (EC_KEY_set_ex_data(ec.get(), ref_index(), ref) != 1) {
        delete ref;
        return failure("cannot wrap the TPM key for TLS");
    }
    PkeyPtr wrapper(EVP_PKEY_new());
    if (!wrapper || EVP_PKEY_assign_EC_KEY(wrapper.get(), ec.get()) != 1) {
        return failure("cannot wrap the TPM key for TLS");
    }
    ec.release(); // the wrapper owns it now
    return wrapper;
}

EVP_PKEY* tpm_key_of(EVP_PKEY* signer) {
    const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(signer);
    if (ec == nullptr || EC_KEY_get_method(ec) != tpm_method()) {
        ERR_clear_error();
        return nullptr;
    }
    const auto* ref = static_cast<const TpmKeyRef*>(EC_KEY_get_ex_data(ec, ref_index()));
    return ref != nullptr ? ref->key.get() : nullptr;
}

} // namespace enftun::tls
