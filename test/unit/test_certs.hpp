// Test PKI built with the OpenSSL C API, for unit tests that need real
// certificates: EC P-256 keys, a self-signed CA, leaf certificates with a
// chosen subject (any number of CNs, raw bytes allowed), subjectAltName
// entries and extended key usages, signed by a CA or by themselves; PEM
// files in a mkdtemp folder.
//
// Header-only (inline functions). Helpers return empty pointers / false on
// failure instead of asserting, so they can run in setup fixtures; the
// caller asserts. Objects are owning unique_ptrs from tls/ssl_ptr.hpp.
#pragma once

#include "enftun/tls/ssl_ptr.hpp"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace test_certs {

using enftun::tls::BioPtr;
using enftun::tls::PkeyPtr;
using enftun::tls::X509Ptr;

enum class Usage { None, Server, Client, Both };

struct CertSpec {
    std::vector<std::string> cns;        // subject CNs, in order; may be empty
    std::vector<std::string> san;        // "IP:fd00::1", "DNS:router", ...; empty: no SAN
    std::string org = "enftun tests";    // subject O, so a CN-less subject is not empty
    Usage usage = Usage::Both;           // extendedKeyUsage
    bool ca = false;                     // basicConstraints CA:TRUE + keyCertSign
    long days = 30;                      // validity from not_before_s on
    long not_before_s = -3600;           // notBefore, seconds from now (an hour ago)
    std::optional<time_t> not_before_at; // notBefore at this time instead
};

// A fresh EC P-256 key, or null.
inline PkeyPtr make_key() {
    return PkeyPtr(EVP_EC_gen("P-256"));
}

namespace detail {

inline bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) {
        return false;
    }
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

inline bool set_subject(X509* cert, const CertSpec& spec) {
    X509_NAME* name = X509_get_subject_name(cert);
    auto add = [name](int nid, const std::string& v) {
        // UTF8String with an explicit length: empty values and embedded NULs
        // go in as given (MBSTRING_ASC would refuse an empty CN).
        return X509_NAME_add_entry_by_NID(name, nid, V_ASN1_UTF8STRING,
                                          reinterpret_cast<const unsigned char*>(v.data()),
                                          static_cast<int>(v.size()), -1, 0) == 1;
    };
    if (!spec.org.empty() && !add(NID_organizationName, spec.org)) {
        return false;
    }
    for (const std::string& cn : spec.cns) {
        if (!add(NID_commonName, cn)) {
            return false;
        }
    }
    return true;
}

inline std::string join_san(const std::vector<std::string>& entries) {
    std::string out;
    for (const std::string& e : entries) {
        out += (out.empty() ? "" : ",") + e;
    }
    return out;
}

inline bool add_extensions(X509* cert, X509* issuer, const CertSpec& spec) {
    bool ok = add_ext(cert, issuer, NID_subject_key_identifier, "hash");
    if (issuer != cert) {
        ok = ok && add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
    }
    if (spec.ca) {
        return ok && add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
               add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    ok = ok && add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
    const char* eku = spec.usage == Usage::Server   ? "serverAuth"
                      : spec.usage == Usage::Client ? "clientAuth"
                      : spec.usage == Usage::Both   ? "serverAuth,clientAuth"
                                                    : nullptr;
    if (eku != nullptr) {
        ok = ok && add_ext(cert, issuer, NID_ext_key_usage, eku);
    }
    if (!spec.san.empty()) {
        ok = ok && add_ext(cert, issuer, NID_subject_alt_name, join_san(spec.san));
    }
    return ok;
}

// notBefore and notAfter (days after it) as spec says.
inline bool set_validity(X509* cert, const CertSpec& spec) {
    time_t start = spec.not_before_at ? *spec.not_before_at : time(nullptr) + spec.not_before_s;
    return X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &start) != nullptr &&
           X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(spec.days), 0, &start) !=
               nullptr;
}

} // namespace detail

// A certificate for `key` as described by spec, signed by issuer/issuer_key,
// or self-signed when issuer is null. Null on failure.
inline X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                         EVP_PKEY* issuer_key = nullptr) {
    static std::atomic<long> serial{1};
    X509Ptr cert(X509_new());
    if (!cert || key == nullptr) {
        return nullptr;
    }
    X509* signer = issuer != nullptr ? issuer : cert.get();
    EVP_PKEY* signer_key = issuer != nullptr ? issuer_key : key;
    bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
              ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++) == 1 &&
              detail::set_validity(cert.get(), spec) && X509_set_pubkey(cert.get(), key) == 1 &&
              detail::set_subject(cert.get(), spec);
    // The issuer name must be set before the extensions that read it.
    ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1 &&
         detail::add_extensions(cert.get(), signer, spec) &&
         X509_sign(cert.get(), signer_key, EVP_sha256()) > 0;
    if (!ok) {
        return nullptr;
    }
    return cert;
}

inline bool write_cert_pem(const std::string& path, X509* cert) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    return bio && PEM_write_bio_X509(bio.get(), cert) == 1;
}

// Mode 0600: enftun refuses a key file others can read (tls/key_file.hpp).
inline bool write_key_pem(const std::string& path, EVP_PKEY* key) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    bool ok =
        bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    bio.reset();
    return ok && chmod(path.c_str(), 0600) == 0;
}

// A key and its certificate, kept together so either can sign or be written.
struct KeyCert {
    PkeyPtr key;
    X509Ptr cert;
    explicit operator bool() const { return key && cert; }
};

// A self-signed CA named cn.
inline KeyCert make_ca(const std::string& cn) {
    KeyCert ca{make_key(), nullptr};
    CertSpec spec;
    spec.cns = {cn};
    spec.ca = true;
    ca.cert = make_cert(spec, ca.key.get());
    return ca;
}

// A leaf with its own fresh key, signed by ca.
inline KeyCert make_leaf(const KeyCert& ca, const CertSpec& spec) {
    KeyCert leaf{make_key(), nullptr};
    leaf.cert = make_cert(spec, leaf.key.get(), ca.cert.get(), ca.key.get());
    return leaf;
}

// Writes dir/<stem>.crt and dir/<stem>.key; false on failure.
inline bool write_pair(const std::string& dir, const std::string& stem, const KeyCert& kc) {
    return write_cert_pem(dir + "/" + stem + ".crt", kc.cert.get()) &&
           write_key_pem(dir + "/" + stem + ".key", kc.key.get());
}

// A new private folder under $TMPDIR (or /tmp); "" on failure.
inline std::string make_temp_dir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/enftun-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    return mkdtemp(buf.data()) != nullptr ? std::string(buf.data()) : std::string();
}

// Removes a folder made by make_temp_dir(), and everything in it.
inline void remove_temp_dir(const std::string& dir) {
    if (!dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
}

// A fixture's folder and test CA (State has `dir` and `ca`), for cmocka's
// setup: 0, or -1 if either could not be made.
template <typename State>
int make_dir_and_ca(std::optional<State>& g) {
    g.emplace();
    g->dir = make_temp_dir();
    g->ca = make_ca("enftun test CA");
    return g->dir.empty() || !g->ca ? -1 : 0;
}

// Its teardown: the folder and everything in it, then the state.
template <typename State>
int remove_dir_and_state(std::optional<State>& g) {
    remove_temp_dir(g->dir);
    g.reset();
    return 0;
}

} // namespace test_certs
