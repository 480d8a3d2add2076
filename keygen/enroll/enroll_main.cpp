// enftun-enroll: the enrollment service and its administrative commands.
// Wiring only: command line, config, signals (README.md, "Provisioning").
#include "enftun/cli/program_start.hpp"
#include "enftun/log/log.hpp"
#include "enroll/ca.hpp"
#include "enroll/commands.hpp"
#include "enroll/enroll_config.hpp"
#include "enroll/registry.hpp"
#include "enroll/service.hpp"

#include <getopt.h>
#include <pthread.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun-enroll -c FILE [-v]                 run the service\n"
                      "       enftun-enroll -c FILE user add NAME [--password-file F]\n"
                      "       enftun-enroll -c FILE user del NAME\n"
                      "       enftun-enroll -c FILE list\n"
                      "       enftun-enroll -c FILE revoke ADDRESS|IPV4\n"
                      "       enftun-enroll --version | --help\n"
                      "options:\n"
                      "  -c, --config FILE   configuration file (libconfig syntax)\n"
                      "  -v, --verbose       log debug lines too\n");
}

int serve(const enftun::enroll::EnrollConfig& cfg) {
    using namespace enftun::enroll;
    auto ca = Ca::load(cfg.ca_cert_file, cfg.ca_key_file);
    if (!ca) {
        ENFTUN_LOG_ERROR("%s", ca.error().message.c_str());
        return 1;
    }
    Registry registry(cfg, *ca);
    // A valid CRL from the first start on: the router is configured with
    // crl_file and would refuse to start without it.
    if (auto crl = registry.write_crl(); !crl) {
        ENFTUN_LOG_ERROR("%s", crl.error().message.c_str());
        return 1;
    }
    // Block the stop signals in every thread (the server threads inherit
    // the mask); the main thread takes them with sigwait.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    Service service(cfg, *ca, registry);
    if (auto bound = service.bind(); !bound) {
        ENFTUN_LOG_ERROR("%s", bound.error().message.c_str());
        return 1;
    }
    std::atomic<bool> run_over{false};
    std::thread waiter([&] {
        int signum = 0;
        sigwait(&stop_signals, &signum);
        if (!run_over) {
            ENFTUN_LOG_INFO("signal %d: shutting down", signum);
            service.stop();
        }
    });
    ENFTUN_LOG_INFO("enftun-enroll %s serving; pool has %zu prefix(es)", ENFTUN_VERSION,
                    cfg.pool.size());
    const bool stopped_by_signal = service.run();
    // run() also returns when a listener failed: wake the waiter (SIGTERM is
    // blocked in it, so sigwait takes this one), else it would keep the
    // process alive, serving nobody.
    run_over = true;
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    if (!stopped_by_signal) {
        ENFTUN_LOG_ERROR("exiting with status 1: a listener stopped (see above)");
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // It holds the client CA's key: no core dump, no ptrace by our user.
    if (!enftun::cli::harden_process()) {
        return 1;
    }
    static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"version", no_argument, nullptr, 'V'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    std::string config_path;
    int c = 0;
    // '+': stop at the first command word, whose own options follow it.
    while ((c = getopt_long(argc, argv, "+c:vVh", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'v':
            enftun::log::set_level(enftun::log::Level::Debug);
            break;
        default: // -V, -h, unknown
            return enftun::cli::finish_common_option(c, "enftun-enroll", usage);
        }
    }
    if (config_path.empty()) {
        std::fprintf(stderr, "enftun-enroll: missing -c FILE\n");
        usage(stderr);
        return 2;
    }
    auto config = enftun::enroll::load_enroll_config(config_path);
    if (!config) {
        std::fprintf(stderr, "enftun-enroll: %s\n", config.error().message.c_str());
        return 1;
    }
    // Files this process creates (state, users, CRL, lock) get explicit
    // modes; anything else stays private.
    ::umask(077);
    std::signal(SIGPIPE, SIG_IGN);
    if (optind < argc) {
        const std::vector<std::string> args(argv + optind, argv + argc);
        return enftun::enroll::run_command(*config, args);
    }
    return serve(*config);
}
