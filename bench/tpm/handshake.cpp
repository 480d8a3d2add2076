// enftun-tpm-bench: how long a TLS handshake takes with the client's key
// held in a TPM, next to a key file. Both ends run in this process over a
// BIO pair, with enftun's own TlsContext (so the TPM key goes through
// tls/tpm_provider and tls/tpm_signer exactly as in enftun), so what
// differs between two runs is the client's signature.
//
//   enftun-tpm-bench -c CLIENT.conf --router-cert F --router-key F [-n N]
//
// Prints, in ms: the handshakes (min, median, p90, mean) and the
// signatures alone (what blocks enftun's loop while the TPM works).
#include "enftun/config/client_config.hpp"
#include "enftun/log/log.hpp"
#include "enftun/tls/tls_context.hpp"
#include "enftun/tls/tpm_provider.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using enftun::tls::Role;
using enftun::tls::TlsContext;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// One handshake between two SSLs joined by a BIO pair; false on failure.
bool handshake(const TlsContext& client, const TlsContext& server) {
    auto c = client.new_ssl();
    auto s = server.new_ssl();
    BIO* cb = nullptr;
    BIO* sb = nullptr;
    if (!c || !s || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1) {
        return false;
    }
    SSL_set_bio(c.get(), cb, cb);
    SSL_set_bio(s.get(), sb, sb);
    SSL_set_connect_state(c.get());
    SSL_set_accept_state(s.get());
    for (int i = 0; i < 100; ++i) {
        const int rc = SSL_do_handshake(c.get());
        const int rs = SSL_do_handshake(s.get());
        if (rc == 1 && rs == 1) {
            return true;
        }
        const int ec = SSL_get_error(c.get(), rc);
        const int es = SSL_get_error(s.get(), rs);
        if ((rc != 1 && ec != SSL_ERROR_WANT_READ) || (rs != 1 && es != SSL_ERROR_WANT_READ)) {
            std::fprintf(stderr, "handshake failed: %s\n", enftun::tls::drain_errors().c_str());
            return false;
        }
    }
    return false;
}

struct Stats {
    double min, median, p90, mean;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) {
        sum += x;
    }
    return {v.front(), v[v.size() / 2], v[(v.size() * 9) / 10],
            sum / static_cast<double>(v.size())};
}

void usage() {
    std::fprintf(stderr, "usage: enftun-tpm-bench -c CLIENT.conf --router-cert F --router-key F "
                         "[-n N]\n");
}

} // namespace

int main(int argc, char** argv) {
    std::string conf, router_cert, router_key;
    int n = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string opt = argv[i];
        if (opt == "-c") {
            conf = argv[i + 1];
        } else if (opt == "--router-cert") {
            router_cert = argv[i + 1];
        } else if (opt == "--router-key") {
            router_key = argv[i + 1];
        } else if (opt == "-n") {
            n = std::atoi(argv[i + 1]);
        } else {
            usage();
            return 2;
        }
    }
    if (conf.empty() || router_cert.empty() || router_key.empty() || n < 2) {
        usage();
        return 2;
    }
    auto config = enftun::config::load_client_config(conf);
    if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());
        return 1;
    }
    const auto& id = config->identity;
    auto client =
        TlsContext::create(Role::Client, {config->remote.ca_cert_file, id.cert_file, id.key_file},
                           {}, enftun::tls::tpm_settings(id));
    auto server =
        TlsContext::create(Role::Server, {config->remote.ca_cert_file, router_cert, router_key});
    if (!client || !server) {
        return 1;
    }
    std::vector<double> hs, sig;
    EVP_PKEY* key = SSL_CTX_get0_privatekey(client->get());
    for (int i = 0; i < n; ++i) {
        auto t0 = Clock::now();
        if (!handshake(*client, *server)) {
            return 1;
        }
        hs.push_back(ms_since(t0));
        unsigned char msg[64] = {};
        unsigned char out[256];
        std::size_t len = sizeof out;
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        t0 = Clock::now();
        const bool ok =
            EVP_DigestSignInit_ex(md, nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
            EVP_DigestSign(md, out, &len, msg, sizeof msg) == 1;
        sig.push_back(ms_since(t0));
        EVP_MD_CTX_free(md);
        if (!ok) {
            return 1;
        }
    }
    const Stats h = stats(hs), s = stats(sig);
    std::printf("key %s (%s), %d handshakes (TLS 1.3, both ends in this process)\n",
                id.tpm ? "in TPM" : "file",
                id.tpm ? enftun::tls::tpm_settings(*id.tpm).tcti.c_str() : id.key_file.c_str(), n);
    std::printf("  handshake ms: min %.2f median %.2f p90 %.2f mean %.2f\n", h.min, h.median, h.p90,
                h.mean);
    std::printf("  signature ms: min %.2f median %.2f p90 %.2f mean %.2f\n", s.min, s.median, s.p90,
                s.mean);
    return 0;
}
