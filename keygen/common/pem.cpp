#include "common/pem.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstring>

namespace enftun::keygen {

namespace {

Failure ssl_failure(const std::string& what) {
    const std::string why = tls::drain_errors();
    return Failure{why.empty() ? what : what + ": " + why};
}

tls::BioPtr memory_bio(std::string_view text) {
    // BIO_new_mem_buf takes an int length; callers bound their input far
    // below INT_MAX, this keeps an oversized one from wrapping.
    if (text.size() > INT_MAX) {
        return nullptr;
    }
    return tls::BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

} // namespace

Outcome<tls::X509Ptr> cert_from_pem(std::string_view pem) {
    ERR_clear_error();
    auto bio = memory_bio(pem);
    tls::X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
        return ssl_failure("not a PEM certificate");
    }
    return cert;
}

Outcome<tls::X509Ptr> load_cert_file(const std::string& path) {
    ERR_clear_error();
    tls::BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        return Failure{"cannot read " + path + ": " + std::strerror(errno)};
    }
    tls::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return ssl_failure("no PEM certificate in " + path);
    }
    return cert;
}

Outcome<tls::PkeyPtr> load_key_file(const std::string& path) {
    ERR_clear_error();
    tls::BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        return Failure{"cannot read " + path + ": " + std::strerror(errno)};
    }
    tls::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        return ssl_failure("no usable PEM private key in " + path);
    }
    return key;
}

std::string cert_to_pem(X509* cert) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        return {};
    }
    return bio_text(bio.get());
}

std::string crl_to_pem(X509_CRL* crl) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) {
        return {};
    }
    return bio_text(bio.get());
}

std::string serial_hex(const ASN1_INTEGER* serial) {
    std::unique_ptr<BIGNUM, Free<BN_free>> bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) {
        return {};
    }
    char* hex = BN_bn2hex(bn.get());
    if (hex == nullptr) {
        return {};
    }
    std::string out(hex);
    OPENSSL_free(hex);
    return out;
}

std::string public_key_sha256(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    if (len <= 0) {
        ERR_clear_error();
        return {};
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, static_cast<std::size_t>(len), digest);
    OPENSSL_free(der);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : digest) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

std::optional<proto::Ipv6Addr> san_ipv6(X509* cert) {
    using Names = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
    Names names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return std::nullopt;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_IPADD || ASN1_STRING_length(name->d.iPAddress) != 16) {
            continue;
        }
        proto::Ipv6Addr addr;
        std::memcpy(addr.bytes.data(), ASN1_STRING_get0_data(name->d.iPAddress), 16);
        return addr;
    }
    return std::nullopt;
}

std::vector<proto::Ipv4Addr> san_ipv4s(X509* cert) {
    using Names = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
    Names names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    std::vector<proto::Ipv4Addr> out;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 4) {
            proto::Ipv4Addr addr;
            std::memcpy(addr.data(), ASN1_STRING_get0_data(name->d.iPAddress), 4);
            out.push_back(addr);
        }
    }
    return out;
}

} // namespace enftun::keygen
