#include "reply_check.hpp"

#include "key_material.hpp"

#include "common/pem.hpp"
#include "common/printable.hpp"

#include "enftun/tls/identity.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace enftun::keygen {

namespace {

using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
// sk_X509_free is a macro-generated inline; a plain function can be a
// template argument. Frees the stack only: the certificates stay with us.
void free_x509_stack(STACK_OF(X509) * s) {
    sk_X509_free(s);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<free_x509_stack>>;

// The address in the SAN must be there (not only allowed to agree, as
// tls::address_from_cert accepts): the service always writes it.
bool has_san_ip(X509* cert, const proto::Ipv6Addr& addr) {
    std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>> names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return false;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
        if (n->type == GEN_IPADD && ASN1_STRING_length(n->d.iPAddress) == 16 &&
            std::equal(addr.bytes.begin(), addr.bytes.end(),
                       ASN1_STRING_get0_data(n->d.iPAddress))) {
            return true;
        }
    }
    return false;
}

Outcome<std::optional<proto::Ipv4Addr>> check_ipv4(const ReplyContext& ctx, const Reply& reply,
                                                   X509* cert) {
    const auto found = san_ipv4s(cert);
    if (ctx.ipv4 == nullptr) {
        if (!found.empty()) {
            return Failure{"the certificate carries the IPv4 address " + format_ipv4(found[0]) +
                           ", which was not asked for"};
        }
        if (!reply.ipv4.empty()) {
            return Failure{"the reply names an IPv4 address, which was not asked for"};
        }
        return std::optional<proto::Ipv4Addr>{};
    }
    const std::string asked = ctx.ipv4->to_string();
    if (found.size() != 1) {
        return Failure{"the certificate has " + std::to_string(found.size()) +
                       " IPv4 addresses, not one (asked for " + asked + ")"};
    }
    const std::string text = format_ipv4(found[0]);
    const auto said = parse_ipv4_addr(reply.ipv4);
    if (!said || *said != found[0]) {
        return Failure{"the reply's ipv4 \"" + printable(reply.ipv4, 64) +
                       "\" is not the certificate's " + text};
    }
    if (!ipv4_request_satisfied_by(*ctx.ipv4, found[0])) {
        return Failure{"the certificate's IPv4 address " + text + " is not what was asked for (" +
                       asked + ")"};
    }
    return std::optional<proto::Ipv4Addr>{found[0]};
}

Outcome<proto::Ipv6Addr> check_address(const ReplyContext& ctx, const Reply& reply, X509* cert) {
    auto addr = device_address(cert);
    if (!addr) {
        return Failure{"the " + addr.error().message}; // "certificate Common Name is ..."
    }
    const std::string text = addr->to_string();
    if (!has_san_ip(cert, *addr)) {
        return Failure{"the certificate for " + text + " has no subjectAltName IP " + text};
    }
    const auto said = proto::Ipv6Addr::parse(reply.address);
    if (!said || !(*said == *addr)) {
        return Failure{"the reply's address \"" + reply.address.substr(0, 64) +
                       "\" is not the certificate's " + text};
    }
    if (!request_satisfied_by(*ctx.request, *addr)) {
        return Failure{"the certificate's address " + text + " is not what was asked for (" +
                       ctx.request->to_string() + ")"};
    }
    return *addr;
}

std::vector<X509*> raw(const std::vector<tls::X509Ptr>& certs) {
    std::vector<X509*> out;
    for (const auto& c : certs) {
        out.push_back(c.get());
    }
    return out;
}

bool is_one_of(X509* cert, const std::vector<tls::X509Ptr>& certs) {
    for (const auto& c : certs) {
        if (X509_cmp(cert, c.get()) == 0) {
            return true;
        }
    }
    return false;
}

// Frees the stack and drops the references it holds (X509_STORE_CTX_get1_chain).
void free_x509_chain(STACK_OF(X509) * s) {
    sk_X509_pop_free(s, X509_free);
}
using X509ChainPtr = std::unique_ptr<STACK_OF(X509), Free<free_x509_chain>>;

// The path X509_verify_cert built from chain[0] to one of anchors
// (chain[1..] as untrusted intermediates) for purpose, leaf first; null
// when it does not verify, and *why says why.
X509ChainPtr verified_path(const std::vector<X509*>& chain, const std::vector<X509*>& anchors,
                           int purpose, std::string* why) {
    ERR_clear_error();
    StorePtr store(X509_STORE_new());
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509StackPtr untrusted(sk_X509_new_null());
    if (!store || !ctx || !untrusted || chain.empty()) {
        *why = "cannot verify: out of memory or no certificate";
        return nullptr;
    }
    for (X509* a : anchors) {
        X509_STORE_add_cert(store.get(), a);
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
        sk_X509_push(untrusted.get(), chain[i]);
    }
    if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0], untrusted.get()) != 1) {
        *why = "cannot verify: " + tls::drain_errors();
        return nullptr;
    }
    X509_STORE_CTX_set_purpose(ctx.get(), purpose);
    X509ChainPtr path;
    if (X509_verify_cert(ctx.get()) == 1) {
        path.reset(X509_STORE_CTX_get1_chain(ctx.get()));
    } else {
        *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    ERR_clear_error();
    if (!path && why->empty()) {
        *why = "cannot verify: out of memory";
    }
    return path;
}

} // namespace

Outcome<proto::Ipv6Addr> device_address(X509* cert) {
    // The tunnel's own check; it leaves a 4-octet SAN entry to check_ipv4.
    auto addr = tls::address_from_cert(cert);
    if (!addr) {
        return Failure{addr.error().what};
    }
    return *addr;
}

bool verifies(const std::vector<X509*>& chain, const std::vector<X509*>& anchors, int purpose,
              std::string* why) {
    return verified_path(chain, anchors, purpose, why) != nullptr;
}

bool vouched_for(X509* new_ca, const std::vector<X509*>& server_chain,
                 const std::vector<X509*>& configured) {
    std::string why;
    const X509ChainPtr path =
        verified_path(server_chain, configured, X509_PURPOSE_SSL_SERVER, &why);
    EVP_PKEY* key = X509_get0_pubkey(new_ca);
    bool found = false;
    // From 1: the service's own certificate is no CA's, and the service
    // holds its key.
    for (int i = 1; path && key != nullptr && !found && i < sk_X509_num(path.get()); ++i) {
        X509* c = sk_X509_value(path.get(), i);
        found = X509_NAME_cmp(X509_get_subject_name(c), X509_get_subject_name(new_ca)) == 0 &&
                EVP_PKEY_eq(X509_get0_pubkey(c), key) == 1;
    }
    ERR_clear_error();
    return found;
}

Outcome<CheckedReply> check_reply(const ReplyContext& ctx, const Reply& reply) {
    auto leaf = parse_certs_pem(reply.certificate);
    if (!leaf) {
        return Failure{"the reply's certificate: " + leaf.error().message};
    }
    X509* cert = (*leaf)[0].get();
    if (X509_check_private_key(cert, ctx.key) != 1) {
        ERR_clear_error();
        return Failure{"the certificate is not for the key made on this device"};
    }
    auto addr = check_address(ctx, reply, cert);
    if (!addr) {
        return addr.error();
    }
    auto ipv4 = check_ipv4(ctx, reply, cert);
    if (!ipv4) {
        return ipv4.error();
    }
    auto ca = parse_certs_pem(reply.ca);
    if (!ca) {
        return Failure{"the reply's CA: " + ca.error().message};
    }
    X509* new_ca = (*ca)[0].get();
    const bool ca_differs = !is_one_of(new_ca, *ctx.configured_cas);
    std::string why;
    // The service sends its chain itself, and anyone can issue a
    // certificate for a public key it does not hold: that chain verifying
    // against the new CA is worth something only when a configured CA
    // vouches for the new one on the path the transport took (vouched_for).
    const bool new_ca_trusted =
        ca_differs && !ctx.server_chain->empty() &&
        vouched_for(new_ca, raw(*ctx.server_chain), raw(*ctx.configured_cas)) &&
        verifies(raw(*ctx.server_chain), {new_ca}, X509_PURPOSE_SSL_SERVER, &why);
    std::vector<X509*> anchors = raw(*ctx.configured_cas);
    if (new_ca_trusted) {
        anchors.push_back(new_ca);
    }
    std::vector<X509*> chain = raw(*leaf);
    if (!verifies(chain, anchors, X509_PURPOSE_SSL_CLIENT, &why)) {
        return Failure{"the certificate does not verify against the configured CA (" + why + ")"};
    }
    CheckedReply out{*addr, *ipv4, std::move((*leaf)[0]), nullptr};
    if (new_ca_trusted) {
        out.new_ca = std::move((*ca)[0]);
    }
    return out;
}

} // namespace enftun::keygen
