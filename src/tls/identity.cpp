#include "enftun/tls/identity.hpp"

#include "enftun/fs/atomic_file.hpp"
#include "enftun/fs/regular_file.hpp"
#include "enftun/tls/ssl_ptr.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace enftun::tls {

namespace {

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;

constexpr int kIpv4Len = 4;
constexpr int kIpv6Len = 16;

GeneralNamesPtr san_of(X509* cert) {
    return GeneralNamesPtr(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
}

// Every IPv6 SAN IP entry must be the CN's address; an IPv4 entry (4
// octets) is the client's IPv4 address (ipv4_from_cert), judged there; one
// of any other length names no address and is refused. DNS and other
// entries are ignored.
bool san_agrees(X509* cert, const proto::Ipv6Addr& addr) {
    GeneralNamesPtr names = san_of(cert);
    if (!names) {
        return true;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type != GEN_IPADD) {
            continue;
        }
        const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
        if (ip->length == kIpv4Len) {
            continue;
        }
        if (ip->length != kIpv6Len || std::memcmp(ip->data, addr.bytes.data(), kIpv6Len) != 0) {
            return false;
        }
    }
    return true;
}

} // namespace

Result<proto::Ipv6Addr> address_from_cert(X509* cert) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0) {
        return make_error(Errc::Identity, "certificate has no Common Name");
    }
    if (X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) {
        return make_error(Errc::Identity, "certificate has more than one Common Name");
    }
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    const unsigned char* data = ASN1_STRING_get0_data(cn);
    int len = ASN1_STRING_length(cn);
    if (len <= 0 || std::memchr(data, '\0', static_cast<std::size_t>(len)) != nullptr) {
        return make_error(Errc::Identity, "certificate Common Name is empty or has a NUL");
    }
    auto addr = proto::Ipv6Addr::parse(
        std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len)));
    if (!addr) {
        return make_error(Errc::Identity, "certificate Common Name is not an IPv6 address");
    }
    // A tunnel identity must be routable: the unspecified, loopback,
    // link-local (fe80::1 is the router's own) and multicast addresses
    // would let a certificate claim what no client can own.
    proto::Ipv6Addr loopback{};
    loopback.bytes[15] = 1;
    if (addr->is_unspecified() || *addr == loopback || addr->is_link_local() ||
        addr->is_multicast()) {
        return make_error(Errc::Identity,
                          "certificate Common Name is not a unicast, routable IPv6 address");
    }
    if (!san_agrees(cert, *addr)) {
        return make_error(Errc::Identity, "certificate subjectAltName IP disagrees with its CN");
    }
    return *addr;
}

Result<std::optional<proto::Ipv4Addr>> ipv4_from_cert(X509* cert) {
    GeneralNamesPtr names = san_of(cert);
    std::optional<proto::Ipv4Addr> found;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type != GEN_IPADD || gn->d.iPAddress->length != kIpv4Len) {
            continue;
        }
        if (found) {
            return make_error(Errc::Identity,
                              "certificate subjectAltName has more than one IPv4 address");
        }
        proto::Ipv4Addr addr{};
        std::memcpy(addr.data(), gn->d.iPAddress->data, kIpv4Len);
        if (!proto::is_routable_unicast(addr)) {
            return make_error(Errc::Identity, "certificate subjectAltName IPv4 address is not a "
                                              "unicast, routable address");
        }
        found = addr;
    }
    return found;
}

namespace {

Result<X509Ptr> load_cert(const std::string& path) {
    // OpenSSL's fopen of a FIFO would wait for a writer, forever.
    if (auto regular = fs::require_regular_file(path);
        !regular && regular.error().code == Errc::Malformed) {
        return make_error(Errc::Identity, "certificate file is not a regular file");
    }
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        int err = errno; // before drain_errors() can touch it
        drain_errors();
        return make_error(Errc::Identity, "cannot open certificate file", err);
    }
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        drain_errors();
        return make_error(Errc::Identity, "certificate file holds no PEM certificate");
    }
    return cert;
}

} // namespace

Result<proto::Ipv6Addr> address_from_cert_file(const std::string& path) {
    auto cert = load_cert(path);
    if (!cert) {
        return cert.error();
    }
    return address_from_cert(cert->get());
}

Result<std::optional<proto::Ipv4Addr>> ipv4_from_cert_file(const std::string& path) {
    auto cert = load_cert(path);
    if (!cert) {
        return cert.error();
    }
    return ipv4_from_cert(cert->get());
}

Status write_ip_file(const std::string& path, const proto::Ipv6Addr& addr) {
    // 0644: the address is public, scripts may read it.
    if (auto st = fs::write_file_atomically(path, addr.to_string() + "\n", 0644); !st) {
        return make_error(Errc::System, "cannot write ip_file", st.error().sys);
    }
    return {};
}

} // namespace enftun::tls
