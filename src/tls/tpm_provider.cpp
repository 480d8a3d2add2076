#include "enftun/tls/tpm_provider.hpp"

#include "enftun/log/log.hpp"
#include "enftun/tls/key_file.hpp"
#include "enftun/tls/tpm_signer.hpp"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace enftun::tls {

namespace {

// A TSS2 key blob is a few hundred bytes; a key file is never more than this.
constexpr std::size_t kMaxBlob = 64 * 1024;
constexpr std::string_view kBlobHeader = "-----BEGIN TSS2 PRIVATE KEY-----";
constexpr std::string_view kHandleScheme = "handle:";
// The library context's default property query. The tpm2 provider offers
// digests, ciphers, a DRBG, ECDH and EC key generation as well as
// signatures; what runs in this context without naming a provider (the
// decoders' helpers, OSSL_STORE) should take only its signatures and leave
// the rest to the default provider, which wins the ties as the provider
// loaded first (OpenSSL 3.0 keeps the first of equal matches): hence
// "default" is loaded before "tpm2". TLS itself runs in the default
// library context (tpm_signer.hpp).
constexpr const char* kProperties = "?tpm2.signature";

using UiMethodPtr = std::unique_ptr<UI_METHOD, Free<UI_destroy_method>>;
using StoreCtxPtr = std::unique_ptr<OSSL_STORE_CTX, Free<OSSL_STORE_close>>;
using StoreInfoPtr = std::unique_ptr<OSSL_STORE_INFO, Free<OSSL_STORE_INFO_free>>;
using DecoderCtxPtr = std::unique_ptr<OSSL_DECODER_CTX, Free<OSSL_DECODER_CTX_free>>;
using EncoderCtxPtr = std::unique_ptr<OSSL_ENCODER_CTX, Free<OSSL_ENCODER_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;

// The process's one provider connection (TpmProvider::load).
std::weak_ptr<TpmProvider>& shared_provider() {
    static std::weak_ptr<TpmProvider> provider;
    return provider;
}

bool same_settings(const TpmSettings& a, const TpmSettings& b) {
    return a.tcti == b.tcti && a.device == b.device && a.password == b.password &&
           a.parent == b.parent;
}

// drain_errors() plus each error's data: the tpm2 provider puts the TPM's
// own words there ("tpm:session(1):the authorization HMAC check failed").
std::string drain_tpm_errors() {
    std::string out;
    const char* data = nullptr;
    int flags = 0;
    unsigned long code = 0;
    while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        out += out.empty() ? "" : "; ";
        out += buf;
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            out += std::string(" (") + data + ")";
        }
    }
    return out;
}

Error tpm_failure(const char* what) {
    return make_error(Errc::Tls, what);
}

// The TPM refused our key or its password: retrying unchanged cannot
// succeed, and each wrong password counts towards the TPM's
// dictionary-attack lockout (enftun exits with its own status for these,
// which enftun@.service does not restart on).
Error key_refused(const char* what) {
    return make_error(Errc::Refused, what);
}

// The device node, checked before the TCTI opens it: its errors would
// only say "IO failure".
Status check_device(const std::string& device) {
    if (device.empty() || ::access(device.c_str(), R_OK | W_OK) == 0) {
        return {};
    }
    const int err = errno;
    if (err == ENOENT) {
        ENFTUN_LOG_ERROR("TPM device %s: %s (no TPM, or its driver is not loaded; "
                         "identity.tpm.device names the node)",
                         device.c_str(), strerror(err));
    } else {
        ENFTUN_LOG_ERROR("TPM device %s: %s (enftun's user needs read-write access: add it "
                         "to the group tss, which owns /dev/tpmrm0 on Debian)",
                         device.c_str(), strerror(err));
    }
    return make_error(Errc::System, "TPM device not accessible", err);
}

// Reads the key file through open_key_file (permission rule), at most
// kMaxBlob bytes.
Result<std::string> read_blob(const std::string& path) {
    auto fd = open_key_file(path);
    if (!fd) {
        return fd.error();
    }
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const int err = errno;
            ENFTUN_LOG_ERROR("cannot read key file %s: %s", path.c_str(), strerror(err));
            return make_error(Errc::System, "cannot read key file", err);
        }
        if (n == 0) {
            return text;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxBlob) {
            ENFTUN_LOG_ERROR("TPM key %s: larger than %zu bytes, not a TPM key blob", path.c_str(),
                             kMaxBlob);
            return tpm_failure("not a TPM key blob");
        }
    }
}

// The TPM's "authorization HMAC check failed" (TPM_RC_AUTH_FAIL, reported
// by the provider as "authorization failure" or with the TPM's text).
bool auth_failed(const std::string& errors) {
    return errors.find("authorization") != std::string::npos;
}

// The provider asks for the key's authorization through these.
int give_password(char* buf, std::size_t size, std::size_t* len, const OSSL_PARAM*,
                  void* arg) noexcept {
    const auto* password = static_cast<const std::string*>(arg);
    if (password->size() > size) {
        return 0;
    }
    std::memcpy(buf, password->data(), password->size());
    *len = password->size();
    return 1;
}

int ui_password(UI* ui, UI_STRING* uis) noexcept {
    if (UI_get_string_type(uis) != UIT_PROMPT && UI_get_string_type(uis) != UIT_VERIFY) {
        return 1;
    }
    const auto* password = static_cast<const std::string*>(UI_get0_user_data(ui));
    return UI_set_result(ui, uis, password->c_str()) == 0 ? 1 : 0;
}

bool from_tpm2(EVP_PKEY* key) {
    const OSSL_PROVIDER* p = EVP_PKEY_get0_provider(key);
    return p != nullptr && std::strcmp(OSSL_PROVIDER_get0_name(p), "tpm2") == 0;
}

PkeyPtr decode_blob(OSSL_LIB_CTX* libctx, const std::string& text, const std::string& password) {
    EVP_PKEY* key = nullptr;
    DecoderCtxPtr dctx(OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", nullptr, nullptr,
                                                     EVP_PKEY_KEYPAIR, libctx, nullptr));
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!dctx || !bio ||
        OSSL_DECODER_CTX_set_passphrase_cb(dctx.get(), give_password,
                                           const_cast<std::string*>(&password)) != 1 ||
        OSSL_DECODER_from_bio(dctx.get(), bio.get()) != 1) {
        EVP_PKEY_free(key);
        return nullptr;
    }
    return PkeyPtr(key);
}

PkeyPtr load_handle(OSSL_LIB_CTX* libctx, const std::string& uri, const std::string& password) {
    UiMethodPtr ui(UI_create_method("enftun TPM password"));
    if (!ui || UI_method_set_reader(ui.get(), ui_password) != 0) {
        return nullptr;
    }
    // The provider asks for a persistent key's authorization only when the
    // URI says it has one ("?pass").
    const std::string query = password.empty() ? uri : uri + "?pass";
    StoreCtxPtr store(OSSL_STORE_open_ex(query.c_str(), libctx, nullptr, ui.get(),
                                         const_cast<std::string*>(&password), nullptr, nullptr,
                                         nullptr));
    while (store && OSSL_STORE_eof(store.get()) == 0) {
        StoreInfoPtr info(OSSL_STORE_load(store.get()));
        if (info && OSSL_STORE_INFO_get_type(info.get()) == OSSL_STORE_INFO_PKEY) {
            return PkeyPtr(OSSL_STORE_INFO_get1_PKEY(info.get()));
        }
        if (!info && OSSL_STORE_error(store.get()) != 0) {
            break;
        }
    }
    return nullptr;
}

// One signature over random bytes with SHA-256, as the handshake makes it
// (default library context, the key as tpm_signing_key wraps it).
bool test_sign(EVP_PKEY* key) {
    unsigned char msg[32];
    unsigned char sig[512];
    std::size_t sig_len = sizeof sig;
    MdCtxPtr md(EVP_MD_CTX_new());
    return md && RAND_bytes(msg, sizeof msg) == 1 &&
           EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) ==
               1 &&
           EVP_DigestSign(md.get(), sig, &sig_len, msg, sizeof msg) == 1;
}

} // namespace

TpmSettings tpm_settings(const config::TpmConfig& config) {
    TpmSettings s;
    const std::string endpoint =
        "host=" + config.socket_host + ",port=" + std::to_string(config.socket_port);
    switch (config.tcti) {
    case config::TpmConfig::Tcti::Device:
        s.tcti = "device:" + config.device;
        s.device = config.device;
        break;
    case config::TpmConfig::Tcti::Socket:
        s.tcti = "mssim:" + endpoint;
        break;
    case config::TpmConfig::Tcti::Swtpm:
        s.tcti = "swtpm:" + endpoint;
        break;
    }
    s.password = config.password;
    s.parent = config.parent;
    return s;
}

std::optional<TpmSettings> tpm_settings(const config::IdentityConfig& identity) {
    return identity.tpm ? std::optional(tpm_settings(*identity.tpm)) : std::nullopt;
}

Result<std::shared_ptr<TpmProvider>> TpmProvider::load(const TpmSettings& settings) {
#if !ENFTUN_ENABLE_TPM
    ENFTUN_LOG_ERROR("identity.tpm: this enftun was built without TPM support "
                     "(cmake -DENABLE_TPM=ON)");
    return tpm_failure("built without TPM support");
#endif
    if (auto p = shared_provider().lock(); p && same_settings(p->settings(), settings)) {
        return p;
    }
    if (auto st = check_device(settings.device); !st) {
        return st.error();
    }
    // The provider reads its TCTI here when it starts; tpm2-tss logs its
    // errors to stderr unless told not to (ours are one line each).
    ::setenv("TPM2OPENSSL_TCTI", settings.tcti.c_str(), 1);
    ::setenv("TSS2_LOG", "all+none", 0);
    ERR_clear_error();
    OSSL_LIB_CTX* libctx = OSSL_LIB_CTX_new();
    if (libctx == nullptr) {
        ENFTUN_LOG_ERROR("cannot create an OpenSSL library context: %s",
                         drain_tpm_errors().c_str());
        return tpm_failure("cannot create library context");
    }
    OSSL_PROVIDER* fallback = OSSL_PROVIDER_load(libctx, "default");
    OSSL_PROVIDER* tpm2 = fallback != nullptr ? OSSL_PROVIDER_load(libctx, "tpm2") : nullptr;
    if (tpm2 == nullptr) {
        // A module OpenSSL cannot open is reported by the DSO library; a
        // module that loads and fails to start could not reach the TPM.
        const bool missing = ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_DSO;
        const std::string why = drain_tpm_errors();
        if (fallback != nullptr) {
            OSSL_PROVIDER_unload(fallback);
        }
        OSSL_LIB_CTX_free(libctx);
        if (missing) {
            ENFTUN_LOG_ERROR("cannot load the OpenSSL provider tpm2 (is tpm2-openssl installed? "
                             "Debian: apt install tpm2-openssl): %s",
                             why.c_str());
            return tpm_failure("tpm2 provider not installed");
        }
        ENFTUN_LOG_ERROR("cannot reach the TPM through %s (is it there, and started?): %s",
                         settings.tcti.c_str(), why.c_str());
        return tpm_failure("cannot reach the TPM");
    }
    if (EVP_set_default_properties(libctx, kProperties) != 1) {
        ENFTUN_LOG_ERROR("cannot set up the TPM's library context: %s", drain_tpm_errors().c_str());
        OSSL_PROVIDER_unload(tpm2);
        OSSL_PROVIDER_unload(fallback);
        OSSL_LIB_CTX_free(libctx);
        return tpm_failure("cannot set up the TPM's library context");
    }
    std::shared_ptr<TpmProvider> p(new TpmProvider(settings, libctx, tpm2, fallback));
    shared_provider() = p;
    return p;
}

TpmProvider::~TpmProvider() {
    OSSL_PROVIDER_unload(default_);
    OSSL_PROVIDER_unload(tpm2_);
    OSSL_LIB_CTX_free(libctx_);
}

Result<PkeyPtr> TpmProvider::load_key(const std::string& key) const {
    const std::string password = settings_.password.value_or(std::string());
    ERR_clear_error();
    PkeyPtr pkey;
    const bool handle = key.compare(0, kHandleScheme.size(), kHandleScheme) == 0;
    if (handle) {
        pkey = load_handle(libctx_, key, password);
        if (!pkey) {
            const std::string why = drain_tpm_errors();
            ENFTUN_LOG_ERROR("TPM key %s: %s%s", key.c_str(),
                             auth_failed(why) ? "wrong password (identity.tpm.password)"
                                              : "no such persistent key in this TPM",
                             why.empty() ? "" : (": " + why).c_str());
            return key_refused("cannot load the TPM key");
        }
    } else {
        auto text = read_blob(key);
        if (!text) {
            return text.error();
        }
        if (text->find(kBlobHeader) == std::string::npos) {
            ENFTUN_LOG_ERROR("TPM key %s: not a TPM key blob (a \"TSS2 PRIVATE KEY\" PEM file); "
                             "identity.tpm is set, so identity.key_file must be one "
                             "(enftun-keygen --tpm makes it)",
                             key.c_str());
            return key_refused("not a TPM key blob");
        }
        pkey = decode_blob(libctx_, *text, password);
        OPENSSL_cleanse(text->data(), text->size());
        if (!pkey) {
            const std::string why = drain_tpm_errors();
            ENFTUN_LOG_ERROR("TPM key %s: this TPM cannot load it: made by another TPM, or "
                             "under another parent key%s",
                             key.c_str(), why.empty() ? "" : (" (" + why + ")").c_str());
            return key_refused("the TPM refuses the key blob");
        }
    }
    if (!from_tpm2(pkey.get())) {
        ENFTUN_LOG_ERROR("TPM key %s: not held by the TPM", key.c_str());
        return key_refused("not a TPM key");
    }
    auto signer = tpm_signing_key(shared_from_this(), std::move(pkey));
    if (!signer) {
        return signer.error();
    }
    if (!test_sign(signer->get())) {
        const std::string why = drain_tpm_errors();
        if (why.find("lockout") != std::string::npos) {
            ENFTUN_LOG_ERROR("TPM key %s: the TPM is in dictionary-attack lockout (too many "
                             "wrong passwords): it refuses the key until the lockout ends "
                             "(or its owner clears it: tpm2_dictionarylockout --clear-lockout)",
                             key.c_str());
            return key_refused("TPM in dictionary-attack lockout");
        }
        if (auth_failed(why)) {
            ENFTUN_LOG_ERROR("TPM key %s: wrong password (identity.tpm.password): the TPM "
                             "refused its authorization (each failure counts towards the "
                             "TPM's dictionary-attack lockout)",
                             key.c_str());
            return key_refused("wrong TPM key password");
        }
        ENFTUN_LOG_ERROR("TPM key %s: the TPM cannot sign with it: %s", key.c_str(), why.c_str());
        return tpm_failure("the TPM cannot sign with the key");
    }
    return signer;
}

Result<PkeyPtr> TpmProvider::generate_key() const {
    ERR_clear_error();
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(libctx_, "EC", "provider=tpm2"));
    std::string password = settings_.password.value_or(std::string());
    unsigned int parent = settings_.parent;
    char group[] = "P-256";
    OSSL_PARAM params[4];
    std::size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    if (parent != 0) {
        params[n++] = OSSL_PARAM_construct_uint("parent", &parent);
    }
    if (!password.empty()) {
        params[n++] = OSSL_PARAM_construct_utf8_string("user-auth", password.data(), 0);
    }
    params[n] = OSSL_PARAM_construct_end();
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 ||
        EVP_PKEY_generate(ctx.get(), &key) != 1) {
        OPENSSL_cleanse(password.data(), password.size());
        ENFTUN_LOG_ERROR("the TPM cannot make a key%s: %s",
                         parent != 0 ? " under identity.tpm.parent" : "",
                         drain_tpm_errors().c_str());
        return tpm_failure("cannot make a key in the TPM");
    }
    PkeyPtr made(key);
    // The provider's new key object does not carry its authorization for
    // use (a password-protected key would fail to sign), so the key is
    // loaded back from its blob, as enftun will load it.
    auto blob = key_blob_pem(made.get());
    made.reset(); // a TPM without a resource manager holds 3 objects
    PkeyPtr loaded = blob ? decode_blob(libctx_, *blob, password) : nullptr;
    OPENSSL_cleanse(password.data(), password.size());
    if (!loaded) {
        ENFTUN_LOG_ERROR("the TPM cannot load the key it made: %s", drain_tpm_errors().c_str());
        return tpm_failure("cannot load the new TPM key");
    }
    return loaded;
}

Result<std::string> TpmProvider::key_blob_pem(EVP_PKEY* key) const {
    ERR_clear_error();
    EncoderCtxPtr ectx(
        OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "PEM", nullptr, "provider=tpm2"));
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!ectx || !bio || OSSL_ENCODER_to_bio(ectx.get(), bio.get()) != 1) {
        ENFTUN_LOG_ERROR("cannot write the TPM key blob: %s", drain_tpm_errors().c_str());
        return tpm_failure("cannot encode the TPM key blob");
    }
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    std::string pem(data, static_cast<std::size_t>(len));
    if (pem.find(kBlobHeader) == std::string::npos) {
        ENFTUN_LOG_ERROR("the tpm2 provider wrote no TSS2 PRIVATE KEY blob");
        return tpm_failure("cannot encode the TPM key blob");
    }
    return pem;
}

} // namespace enftun::tls
