// enftun-loadgen: the router scale benchmark's load generator (bench/scale.sh).
// Issues N client certificates from a CA, opens N concurrent TLS sessions to
// an enftun-router, reports how fast the handshakes went, then holds the
// sessions until SIGINT/SIGTERM (or --hold seconds) and reports how many the
// router closed meanwhile. Output: one JSON object per line on stdout.
#include "cert_factory.hpp"
#include "session_pool.hpp"

#include "enftun/log/log.hpp"
#include "enftun/loop/loop.hpp"

#include <arpa/inet.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

using enftun::bench::CertFactory;
using enftun::bench::SessionPool;
using Clock = std::chrono::steady_clock;

struct Args {
    std::string ca_cert, ca_key, router = "fd00:101::1", prefix = "fd00:1000::", ready_file;
    unsigned port = 4443;
    std::size_t sessions = 1000;
    std::size_t window = 64;
    unsigned hold_s = 0; // 0: until a signal
};

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun-loadgen --ca-cert F --ca-key F [--router ADDR] [--port P]\n"
                      "         [--sessions N] [--window W] [--prefix ADDR] [--hold S]\n"
                      "         [--ready-file F]\n"
                      "Client i gets CN = prefix + i (i = 1..N), signed by the CA.\n");
}

bool parse_args(int argc, char** argv, Args& a) {
    static const option kOptions[] = {{"ca-cert", required_argument, nullptr, 'c'},
                                      {"ca-key", required_argument, nullptr, 'k'},
                                      {"router", required_argument, nullptr, 'r'},
                                      {"port", required_argument, nullptr, 'p'},
                                      {"sessions", required_argument, nullptr, 'n'},
                                      {"window", required_argument, nullptr, 'w'},
                                      {"prefix", required_argument, nullptr, 'x'},
                                      {"hold", required_argument, nullptr, 'H'},
                                      {"ready-file", required_argument, nullptr, 'R'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    int c = 0;
    while ((c = getopt_long(argc, argv, "c:k:r:p:n:w:x:H:R:h", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            a.ca_cert = optarg;
            break;
        case 'k':
            a.ca_key = optarg;
            break;
        case 'r':
            a.router = optarg;
            break;
        case 'p':
            a.port = static_cast<unsigned>(std::stoul(optarg));
            break;
        case 'n':
            a.sessions = std::stoul(optarg);
            break;
        case 'w':
            a.window = std::stoul(optarg);
            break;
        case 'x':
            a.prefix = optarg;
            break;
        case 'H':
            a.hold_s = static_cast<unsigned>(std::stoul(optarg));
            break;
        case 'R':
            a.ready_file = optarg;
            break;
        default:
            return false;
        }
    }
    return optind == argc && !a.ca_cert.empty() && !a.ca_key.empty() && a.sessions > 0 &&
           a.sessions <= 1000000 && a.window > 0 && a.port > 0 && a.port < 65536;
}

// raise_nofile: one fd per session plus a margin. Errors are reported; the
// run then fails later with EMFILE, which the pool counts.
void raise_nofile(std::size_t sessions) {
    rlim_t want = static_cast<rlim_t>(sessions) + 256;
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= want) {
        return;
    }
    rl.rlim_cur = want;
    rl.rlim_max = std::max(rl.rlim_max, want);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        ENFTUN_LOG_WARN("cannot raise RLIMIT_NOFILE to %llu",
                        static_cast<unsigned long long>(want));
    }
}

// make_certs: certificate i has CN prefix + i + 1.
bool make_certs(const CertFactory& f, const Args& a, std::vector<enftun::tls::X509Ptr>& out) {
    auto base = enftun::proto::Ipv6Addr::parse(a.prefix);
    if (!base) {
        std::fprintf(stderr, "enftun-loadgen: bad --prefix %s\n", a.prefix.c_str());
        return false;
    }
    out.reserve(a.sessions);
    for (std::size_t i = 1; i <= a.sessions; ++i) {
        enftun::proto::Ipv6Addr addr = *base;
        for (int b = 15, carry = static_cast<int>(i); b >= 8 && carry != 0; --b) {
            carry += addr.bytes[static_cast<std::size_t>(b)];
            addr.bytes[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        auto cert = f.issue(addr, static_cast<long>(i));
        if (!cert) {
            return false;
        }
        out.push_back(std::move(*cert));
    }
    return true;
}

enftun::tls::SslCtxPtr make_ctx(const Args& a) {
    enftun::tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), a.ca_cert.c_str(), nullptr) != 1) {
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    // Held sessions are idle: do not keep 2 x 16 KiB of buffers for each.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void report_established(const Args& a, const SessionPool& pool, double cert_s, double hs_s) {
    char line[512];
    const auto& st = pool.stats();
    std::snprintf(line, sizeof line,
                  "{\"sessions\": %zu, \"established\": %zu, \"failed\": %zu, "
                  "\"cert_seconds\": %.3f, \"handshake_seconds\": %.3f, "
                  "\"handshakes_per_s\": %.1f}",
                  a.sessions, st.established, st.failed, cert_s, hs_s,
                  hs_s > 0 ? static_cast<double>(st.established) / hs_s : 0.0);
    std::printf("%s\n", line);
    std::fflush(stdout);
    if (!a.ready_file.empty()) {
        std::ofstream(a.ready_file + ".tmp") << line << "\n";
        std::rename((a.ready_file + ".tmp").c_str(), a.ready_file.c_str());
    }
}

} // namespace

int main(int argc, char** argv) {
    Args a;
    if (!parse_args(argc, argv, a)) {
        usage(stderr);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    raise_nofile(a.sessions);
    auto factory = CertFactory::create(a.ca_cert, a.ca_key);
    if (!factory) {
        return 1;
    }
    auto t0 = Clock::now();
    std::vector<enftun::tls::X509Ptr> certs;
    auto ctx = make_ctx(a);
    SessionPool::Options opts;
    opts.window = a.window;
    opts.router.sin6_family = AF_INET6;
    opts.router.sin6_port = htons(static_cast<std::uint16_t>(a.port));
    if (!make_certs(*factory, a, certs) || !ctx ||
        inet_pton(AF_INET6, a.router.c_str(), &opts.router.sin6_addr) != 1) {
        std::fprintf(stderr, "enftun-loadgen: setup failed (certificates, TLS or --router)\n");
        return 1;
    }
    double cert_s = seconds_since(t0);
    enftun::loop::Loop loop;
    enftun::loop::Timer hold(loop, [&] { loop.stop(); });
    auto t1 = Clock::now();
    SessionPool pool(loop, ctx.get(), factory->client_key(), certs, opts, [&] {
        report_established(a, pool, cert_s, seconds_since(t1));
        if (a.hold_s > 0) {
            hold.start(a.hold_s * 1000ULL);
        }
    });
    auto stop = [&](int) { loop.stop(); };
    enftun::loop::Signal sigint(loop, SIGINT, stop);
    enftun::loop::Signal sigterm(loop, SIGTERM, stop);
    pool.start();
    loop.run();
    std::printf("{\"closed_during_hold\": %zu}\n", pool.stats().closed_after_up);
    return 0;
}
