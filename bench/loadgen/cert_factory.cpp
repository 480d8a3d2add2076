#include "cert_factory.hpp"

#include "enftun/log/log.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace enftun::bench {

namespace {

using FilePtr = std::unique_ptr<FILE, Free<std::fclose>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;

constexpr long kValiditySeconds = 24 * 3600;

// add_ext: one v3 extension in openssl.cnf syntax, e.g. "critical,CA:FALSE".
bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool set_subject(X509* cert, const std::string& cn) {
    X509_NAME* name = X509_get_subject_name(cert);
    return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                      reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                      0) == 1;
}

} // namespace

Result<CertFactory> CertFactory::create(const std::string& ca_cert_file,
                                        const std::string& ca_key_file) {
    FilePtr cf(std::fopen(ca_cert_file.c_str(), "r"));
    FilePtr kf(std::fopen(ca_key_file.c_str(), "r"));
    if (!cf || !kf) {
        ENFTUN_LOG_ERROR("cannot open %s or %s", ca_cert_file.c_str(), ca_key_file.c_str());
        return make_error(Errc::Identity, "cannot open CA files");
    }
    ERR_clear_error();
    tls::X509Ptr ca(PEM_read_X509(cf.get(), nullptr, nullptr, nullptr));
    tls::PkeyPtr ca_key(PEM_read_PrivateKey(kf.get(), nullptr, nullptr, nullptr));
    if (!ca || !ca_key || X509_check_private_key(ca.get(), ca_key.get()) != 1) {
        ENFTUN_LOG_ERROR("CA certificate/key unusable: %s", tls::drain_errors().c_str());
        return make_error(Errc::Identity, "CA certificate/key unusable");
    }
    tls::PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) {
        ENFTUN_LOG_ERROR("cannot make the client key: %s", tls::drain_errors().c_str());
        return make_error(Errc::Tls, "cannot make the client key");
    }
    return CertFactory(std::move(ca), std::move(ca_key), std::move(key));
}

Result<tls::X509Ptr> CertFactory::issue(const proto::Ipv6Addr& addr, long serial) const {
    ERR_clear_error();
    tls::X509Ptr cert(X509_new());
    bool ok = cert && X509_set_version(cert.get(), 2) == 1 &&
              ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
              X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) != nullptr &&
              set_subject(cert.get(), addr.to_string()) &&
              X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get())) == 1 &&
              X509_set_pubkey(cert.get(), key_.get()) == 1 &&
              add_ext(cert.get(), ca_cert_.get(), NID_basic_constraints, "critical,CA:FALSE") &&
              add_ext(cert.get(), ca_cert_.get(), NID_key_usage, "critical,digitalSignature") &&
              add_ext(cert.get(), ca_cert_.get(), NID_ext_key_usage, "clientAuth") &&
              X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) > 0;
    if (!ok) {
        ENFTUN_LOG_ERROR("cannot issue a certificate: %s", tls::drain_errors().c_str());
        return make_error(Errc::Tls, "cannot issue a certificate");
    }
    return cert;
}

} // namespace enftun::bench
