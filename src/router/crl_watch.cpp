#include "enftun/router/crl_watch.hpp"

#include "enftun/fs/regular_file.hpp"
#include "enftun/log/log.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>

namespace enftun::router {

namespace {

using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

Error crl_error(const std::string& crl_file, const char* what) {
    const std::string why = tls::drain_errors();
    ENFTUN_LOG_ERROR("CRL %s: %s%s%s; keeping the CRL in force", crl_file.c_str(), what,
                     why.empty() ? "" : ": ", why.c_str());
    return make_error(Errc::Identity, what);
}

X509CrlPtr read_crl(const std::string& path) {
    // Not a FIFO, which OpenSSL's fopen would wait on, forever (on the loop).
    tls::BioPtr bio(fs::require_regular_file(path) ? BIO_new_file(path.c_str(), "r") : nullptr);
    return X509CrlPtr(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// Whether crl was issued and signed by the (first) CA certificate in the
// store: a CRL from anyone else would let them revoke, or un-revoke, at will.
bool signed_by_ca(X509_STORE* store, X509_CRL* crl) {
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
        X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
        if (ca == nullptr ||
            X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0) {
            continue;
        }
        EVP_PKEY* key = X509_get0_pubkey(ca);
        if (key != nullptr && X509_CRL_verify(crl, key) == 1) {
            return true;
        }
    }
    return false;
}

} // namespace

CrlWatch::CrlWatch(loop::Loop& loop, SSL_CTX* ctx, std::string ca_file, std::string crl_file,
                   OnLoaded on_loaded)
    : ctx_(ctx), ca_file_(std::move(ca_file)), crl_file_(std::move(crl_file)),
      on_loaded_(std::move(on_loaded)), poll_(loop, [this] { on_poll(); }) {}

Result<std::unique_ptr<CrlWatch>> CrlWatch::create(loop::Loop& loop, SSL_CTX* ctx,
                                                   std::string ca_file, std::string crl_file,
                                                   OnLoaded on_loaded) {
    std::unique_ptr<CrlWatch> watch(
        new CrlWatch(loop, ctx, std::move(ca_file), std::move(crl_file), std::move(on_loaded)));
    if (::stat(watch->crl_file_.c_str(), &watch->seen_) != 0) {
        const int err = errno;
        ENFTUN_LOG_ERROR("CRL %s: %s", watch->crl_file_.c_str(), std::strerror(err));
        return make_error(Errc::Identity, "cannot read the CRL", err);
    }
    if (auto loaded = watch->reload(); !loaded) {
        return loaded.error();
    }
    watch->poll_.start(kPollMs);
    return watch;
}

bool CrlWatch::revoked(X509* cert) const {
    X509_REVOKED* entry = nullptr;
    return crl_ && cert != nullptr &&
           X509_CRL_get0_by_serial(crl_.get(), &entry, X509_get0_serialNumber(cert)) == 1;
}

void CrlWatch::on_poll() {
    poll_.start(kPollMs);
    struct stat now {};
    if (::stat(crl_file_.c_str(), &now) != 0) {
        if (seen_.st_ino != 0) {
            ENFTUN_LOG_ERROR("CRL %s: %s; keeping the CRL in force", crl_file_.c_str(),
                             std::strerror(errno));
        }
        seen_ = {};
        return;
    }
    if (same_file(now, seen_)) {
        return;
    }
    seen_ = now;
    (void)reload(); // logged; the old CRL stays
}

Status CrlWatch::reload() {
    ERR_clear_error();
    X509CrlPtr crl = read_crl(crl_file_);
    if (!crl) {
        return crl_error(crl_file_, "not a PEM CRL");
    }
    StorePtr store(X509_STORE_new());
    if (!store || X509_STORE_load_file(store.get(), ca_file_.c_str()) != 1) {
        return crl_error(crl_file_, "cannot load the CA certificate");
    }
    if (!signed_by_ca(store.get(), crl.get())) {
        return crl_error(crl_file_, "not signed by the client CA");
    }
    // CRL_CHECK: the leaf only. The CA is ours and self-signed; there is no
    // intermediate whose revocation this CRL could speak to.
    // Keep whatever verification parameters the context's store was given
    // (purpose, depth, flags), and add the CRL check to them.
    X509_STORE* current = SSL_CTX_get_cert_store(ctx_);
    if (current != nullptr && X509_VERIFY_PARAM_set1(X509_STORE_get0_param(store.get()),
                                                     X509_STORE_get0_param(current)) != 1) {
        return crl_error(crl_file_, "cannot copy the verification parameters");
    }
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1 ||
        X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK) != 1) {
        return crl_error(crl_file_, "cannot install the CRL");
    }
    // The context takes the store; handshakes run on this thread, so none
    // is halfway through verification with the old one.
    SSL_CTX_set_cert_store(ctx_, store.release());
    crl_ = std::move(crl);
    const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
    ENFTUN_LOG_INFO("CRL %s loaded: %d revoked certificate(s)", crl_file_.c_str(),
                    revoked != nullptr ? sk_X509_REVOKED_num(revoked) : 0);
    if (on_loaded_) {
        on_loaded_();
    }
    return {};
}

} // namespace enftun::router
