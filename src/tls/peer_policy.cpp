#include "enftun/tls/peer_policy.hpp"

#include "enftun/log/log.hpp"
#include "enftun/tls/clock_floor.hpp"
#include "enftun/tls/identity.hpp"
#include "enftun/util/hex.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>

namespace enftun::tls {

namespace {

int peer_check_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool is_ip_literal(const std::string& name) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool is_name_mismatch(int err) {
    return err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH;
}

// The reason to refuse the leaf certificate, or "" to let it pass.
// preverify_err is OpenSSL's verdict on it so far (X509_V_OK if none).
std::string judge_leaf(X509* cert, int preverify_err, const PeerCheck& check) {
    if (const char* eku = check_eku(cert, check.role); eku != nullptr) {
        return eku;
    }
    if (preverify_err == X509_V_ERR_INVALID_PURPOSE) {
        return "not valid for this TLS role (key usage)";
    }
    if (is_name_mismatch(preverify_err)) {
        return "wrong name: not issued for " + check.name;
    }
    if (check.role == Role::Client) {
        if (!check.policy->pins.empty() && !pin_matches(cert, check.policy->pins)) {
            return "public key " + format_sha256_hex(spki_sha256(cert)) +
                   " matches no remote.pin_sha256";
        }
        return "";
    }
    auto addr = address_from_cert(cert);
    if (!addr) {
        return ""; // the router refuses it after the handshake, with its reason
    }
    if (std::string why = check_client_address(*addr, *check.policy); !why.empty()) {
        return why;
    }
    auto v4 = ipv4_from_cert(cert);
    if (!v4 || !*v4) {
        return ""; // none, or refused after the handshake as above
    }
    return check_client_ipv4(**v4, *check.policy);
}

} // namespace

const char* check_eku(X509* cert, Role our_role) {
    const bool want_server = our_role == Role::Client;
    // X509_get_extension_flags caches the parsed extensions (and flags a
    // malformed one as EXFLAG_INVALID).
    const std::uint32_t flags = X509_get_extension_flags(cert);
    const std::uint32_t xku = X509_get_extended_key_usage(cert);
    if ((flags & EXFLAG_INVALID) != 0 || (flags & EXFLAG_XKUSAGE) == 0 ||
        (xku & (want_server ? XKU_SSL_SERVER : XKU_SSL_CLIENT)) == 0) {
        return want_server ? "no serverAuth extended key usage"
                           : "no clientAuth extended key usage";
    }
    return nullptr;
}

Sha256 spki_sha256(X509* cert) {
    Sha256 out{};
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    unsigned int n = 0;
    if (len > 0) {
        EVP_Digest(der, static_cast<std::size_t>(len), out.data(), &n, EVP_sha256(), nullptr);
    }
    OPENSSL_free(der);
    return out;
}

bool pin_matches(X509* cert, std::span<const Sha256> pins) {
    const Sha256 digest = spki_sha256(cert);
    return std::find(pins.begin(), pins.end(), digest) != pins.end();
}

std::optional<Sha256> parse_sha256_hex(std::string_view text) {
    if (text.size() != 2 * std::tuple_size_v<Sha256>) {
        return std::nullopt;
    }
    Sha256 out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit_value(text[2 * i]);
        const int lo = hex_digit_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::string format_sha256_hex(const Sha256& digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

bool prefix_contains(const AddrPrefix& prefix, const proto::Ipv6Addr& addr) {
    const unsigned full = prefix.len / 8;
    const unsigned rest = prefix.len % 8;
    if (std::memcmp(prefix.addr.bytes.data(), addr.bytes.data(), full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (prefix.addr.bytes[full] & mask) == (addr.bytes[full] & mask);
}

std::string check_client_address(const proto::Ipv6Addr& addr, const PeerPolicy& policy) {
    for (const auto& own : policy.reserved_addresses) {
        if (own == addr) {
            return "address " + addr.to_string() + " is the router's own";
        }
    }
    if (!policy.client_prefixes.empty() &&
        std::none_of(policy.client_prefixes.begin(), policy.client_prefixes.end(),
                     [&](const AddrPrefix& p) { return prefix_contains(p, addr); })) {
        return "address " + addr.to_string() + " outside router.client_prefixes";
    }
    return "";
}

std::string check_client_ipv4(const proto::Ipv4Addr& addr, const PeerPolicy& policy) {
    const auto& prefixes = policy.client_ipv4_prefixes;
    if (prefixes.empty()) {
        return "";
    }
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, addr.data(), text, sizeof text);
    if (std::any_of(prefixes.begin(), prefixes.end(),
                    [&](const proto::Ipv4Prefix& p) { return proto::is_subnet_edge(p, addr); })) {
        // Its packets would be subnet-directed broadcasts, which the router
        // drops (router/client_route.hpp).
        return std::string("IPv4 address ") + text +
               " is the network or broadcast address of a prefix in router.ipv4_client_prefixes";
    }
    if (std::any_of(prefixes.begin(), prefixes.end(),
                    [&](const proto::Ipv4Prefix& p) { return proto::in_prefix(p, addr); })) {
        return "";
    }
    return std::string("IPv4 address ") + text + " outside router.ipv4_client_prefixes";
}

int verify_peer(int preverify_ok, X509_STORE_CTX* store) noexcept {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* check = ssl != nullptr ? static_cast<PeerCheck*>(SSL_get_ex_data(ssl, peer_check_index()))
                                 : nullptr;
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (check == nullptr || check->policy == nullptr || cert == nullptr) {
        return preverify_ok;
    }
    if (preverify_ok == 0 && check->validity_note.empty()) {
        // At any depth: a CA certificate can be "not yet valid" too.
        check->validity_note =
            tls::validity_note(cert, X509_STORE_CTX_get_error(store),
                               static_cast<std::int64_t>(std::time(nullptr)), check->checked_at);
    }
    if (X509_STORE_CTX_get_error_depth(store) != 0) {
        return preverify_ok;
    }
    const int err = preverify_ok != 0 ? X509_V_OK : X509_STORE_CTX_get_error(store);
    if (err != X509_V_OK && err != X509_V_ERR_INVALID_PURPOSE && !is_name_mismatch(err)) {
        return 0; // a bad chain, an expired certificate...: OpenSSL's reason stands
    }
    std::string reason = judge_leaf(cert, err, *check);
    if (reason.empty()) {
        return preverify_ok;
    }
    check->refusal = std::string(check->role == Role::Client ? "router" : "client") +
                     " certificate refused: " + reason;
    if (err == X509_V_OK) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    }
    return 0;
}

bool attach_peer_check(SSL* ssl, PeerCheck* check) {
    if (SSL_set_ex_data(ssl, peer_check_index(), check) != 1) {
        return false;
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    check->checked_at =
        verify_time(now, check->policy != nullptr ? check->policy->clock_floor : std::nullopt);
    if (check->checked_at) {
        X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*check->checked_at));
        // Once an hour at most: the router may see many handshakes.
        static std::atomic<std::int64_t> last_warned{0};
        const std::int64_t last = last_warned.load();
        if (last == 0 || now < last || now - last >= 3600) {
            last_warned = now;
            ENFTUN_LOG_WARN("%s", floor_warning(now, *check->checked_at).c_str());
        }
    }
    if (check->role != Role::Client || check->name.empty()) {
        return true;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_literal(check->name)) {
        return X509_VERIFY_PARAM_set1_ip_asc(param, check->name.c_str()) == 1;
    }
    // SNI too, for a router behind a name-based TLS proxy; never for a literal.
    return X509_VERIFY_PARAM_set1_host(param, check->name.c_str(), 0) == 1 &&
           SSL_set_tlsext_host_name(ssl, check->name.c_str()) == 1;
}

} // namespace enftun::tls
