#include "key_material.hpp"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace enftun::keygen {

namespace {

std::string ssl_failure(const char* what) {
    const std::string why = tls::drain_errors();
    return std::string(what) + (why.empty() ? "" : ": " + why);
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Certificate files are small; anything larger is not one.
constexpr std::size_t kMaxPemFile = 1 << 20;

Outcome<std::string> read_small_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rbe");
    if (f == nullptr) {
        return Failure{path + ": " + std::strerror(errno)};
    }
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= kMaxPemFile) {
        text.append(buf, n);
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) {
        return Failure{path + ": read error"};
    }
    if (text.size() > kMaxPemFile) {
        return Failure{path + ": larger than 1 MiB, not a PEM file"};
    }
    return text;
}

} // namespace

SecretPem::~SecretPem() {
    if (!text_.empty()) {
        OPENSSL_cleanse(text_.data(), text_.size());
    }
}

Outcome<tls::PkeyPtr> make_device_key() {
    ERR_clear_error();
    tls::PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) {
        return Failure{ssl_failure("cannot make an EC P-256 key")};
    }
    return key;
}

Outcome<std::string> make_csr_pem(EVP_PKEY* key, const std::string& subject_cn) {
    ERR_clear_error();
    X509ReqPtr req(X509_REQ_new());
    X509_NAME* name = req ? X509_REQ_get_subject_name(req.get()) : nullptr;
    if (name == nullptr || X509_REQ_set_version(req.get(), 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(subject_cn.c_str()), -1,
                                   -1, 0) != 1 ||
        X509_REQ_set_pubkey(req.get(), key) != 1 ||
        X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
        return Failure{ssl_failure("cannot make the certificate request")};
    }
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
        return Failure{ssl_failure("cannot encode the certificate request")};
    }
    return bio_text(bio.get());
}

Outcome<SecretPem> private_key_pem(EVP_PKEY* key) {
    ERR_clear_error();
    tls::BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return Failure{ssl_failure("cannot encode the private key")};
    }
    SecretPem pem(bio_text(bio.get()));
    return pem;
}

Outcome<tls::PkeyPtr> public_key_of(EVP_PKEY* key) {
    ERR_clear_error();
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    if (len <= 0) {
        return Failure{ssl_failure("cannot encode the public key")};
    }
    const unsigned char* p = der;
    tls::PkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
    OPENSSL_free(der);
    if (!pub) {
        return Failure{ssl_failure("cannot decode the public key")};
    }
    return pub;
}

Outcome<std::vector<tls::X509Ptr>> parse_certs_pem(const std::string& pem) {
    ERR_clear_error();
    tls::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::vector<tls::X509Ptr> certs;
    while (bio) {
        tls::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            break;
        }
        certs.push_back(std::move(cert));
    }
    // The loop ends on "no start line" after the last certificate; any other
    // error means a certificate that did not parse.
    const unsigned long err = ERR_peek_last_error();
    if (ERR_GET_REASON(err) != PEM_R_NO_START_LINE && err != 0) {
        return Failure{ssl_failure("not a valid PEM certificate")};
    }
    ERR_clear_error();
    if (certs.empty()) {
        return Failure{"no PEM certificate"};
    }
    return certs;
}

Outcome<std::vector<tls::X509Ptr>> load_certs_file(const std::string& path) {
    auto text = read_small_file(path);
    if (!text) {
        return text.error();
    }
    auto certs = parse_certs_pem(*text);
    if (!certs) {
        return Failure{path + ": " + certs.error().message};
    }
    return certs;
}

std::string format_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        return "?";
    }
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

} // namespace enftun::keygen
