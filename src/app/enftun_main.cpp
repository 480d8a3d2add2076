// enftun: the tunnel client. Wiring only: command line, config, signals.
#include "client_status_cli.hpp"
#include "enftun/cli/program_start.hpp"
#include "enftun/client/client.hpp"
#include "enftun/client/client_control.hpp"
#include "enftun/client/client_ipv4.hpp"
#include "enftun/config/client_config.hpp"
#include "enftun/log/log.hpp"
#include "enftun/loop/log_flush.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/service/notifier.hpp"
#include "enftun/service/watchdog.hpp"

#include <getopt.h>
#include <sysexits.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

namespace {

// The TPM refused the identity's key or its password (wrong
// identity.tpm.password, dictionary-attack lockout, a key it will not
// load): EX_NOPERM, which enftun@.service's RestartPreventExitStatus= names,
// since every restart would count one more failure towards the lockout.
constexpr int kExitCredentialsRefused = EX_NOPERM;

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun -c FILE [-v]      run the tunnel client\n"
                      "       enftun -c FILE -p KEY    print one config value (e.g. tun.dev)\n"
                      "       enftun -c FILE -p all    print every key as KEY=VALUE lines\n"
                      "       enftun status [-c FILE] [--json | --metrics]\n"
                      "                                ask the running client (README: Operating)\n"
                      "       enftun --version | --help\n"
                      "options:\n"
                      "  -c, --config FILE   configuration file (libconfig syntax)\n"
                      "  -p, --print KEY     print the effective value of KEY and exit\n"
                      "  -v, --verbose       log one level more than log.level (-vv: two)\n"
                      "      --show-secrets  -p shows identity.tpm.password (else: (redacted))\n");
}

struct Args {
    std::string config;
    std::string print_key;
    bool print = false;
    bool show_secrets = false;
    unsigned verbose = 0; // -v given this many times
};

// Returns the exit code to leave with, or -1 to go on.
int parse_args(int argc, char** argv, Args& args) {
    static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                      {"print", required_argument, nullptr, 'p'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"version", no_argument, nullptr, 'V'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {"show-secrets", no_argument, nullptr, 'S'},
                                      {nullptr, 0, nullptr, 0}};
    int c = 0;
    while ((c = getopt_long(argc, argv, "c:p:vVh", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            args.config = optarg;
            break;
        case 'p':
            args.print = true;
            args.print_key = optarg;
            break;
        case 'v':
            ++args.verbose;
            break;
        case 'S':
            args.show_secrets = true;
            break;
        default: // -V, -h, unknown
            return enftun::cli::finish_common_option(c, "enftun", usage);
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "enftun: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (args.config.empty()) {
        std::fprintf(stderr, "enftun: missing -c FILE\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

// SIGHUP (`systemctl reload`): read the config file again and hand it to
// the client; a file that does not load changes nothing.
// verbose: the -v count, kept on top of the new log.level.
void reload(enftun::tunnel::Client& client, const std::string& path,
            enftun::service::Notifier& notifier, unsigned verbose) {
    ENFTUN_LOG_INFO("SIGHUP: reloading %s", path.c_str());
    notifier.reloading();
    auto fresh = enftun::config::load_client_config(path);
    if (!fresh) {
        ENFTUN_LOG_ERROR("reload rejected: %s; the running config stays",
                         fresh.error().message.c_str());
    } else {
        for (const auto& warning : fresh->warnings) {
            ENFTUN_LOG_WARN("%s", warning.c_str());
        }
        enftun::log::set_level(enftun::log::more_verbose(fresh->log.level, verbose));
        (void)client.reload(*fresh);
    }
    // The end of the reload's lines: what a reader (or a test) waits for.
    ENFTUN_LOG_INFO("SIGHUP: reload finished");
    notifier.ready_after_reload();
}

// -p answers tun.ipv4_address with the address the client would take: with
// route.allow_ipv4, the certificate's (client_ipv4.hpp). When that cannot be
// told (the certificate unreadable, or not the configured address), `-p
// tun.ipv4_address` fails with the reason, while `-p all` prints the
// configured value: enftun-setup reads it as root, perhaps before the device
// has a certificate, and needs no IPv4 address. False: print nothing.
bool effective_ipv4_for_print(enftun::config::ClientConfig& config, const std::string& key) {
    if (key != "all" && key != "tun.ipv4_address") {
        return true;
    }
    std::string why;
    if (auto v4 = enftun::tunnel::client_ipv4_quiet(config, why)) {
        config.tun.ipv4_address = v4->address;
        return true;
    }
    if (key == "all") {
        return true;
    }
    std::fprintf(stderr, "enftun: tun.ipv4_address: %s\n", why.c_str());
    return false;
}

int run(const enftun::config::ClientConfig& config, const std::string& path, unsigned verbose) {
    // A peer vanishing mid-write must be an error return, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    enftun::loop::Loop loop;
    enftun::loop::LogFlush log_flush(loop); // counts of rate-limited lines, when due
    // systemd (Type=notify): READY=1 at the tunnel's first heartbeat round
    // trip, STATUS= on each state, WATCHDOG=1 from the loop.
    enftun::service::Notifier notifier;
    int exit_code = 0;
    {
        auto client = enftun::tunnel::Client::create(loop, config);
        if (!client) {
            return client.error().code == enftun::Errc::Refused ? kExitCredentialsRefused : 1;
        }
        (*client)->set_listener(
            {.on_state = [&](enftun::tunnel::ClientState,
                             const std::string& status) { notifier.status(status); },
             .on_proven = [&] { notifier.ready(); }});
        // Only a run that systemd's start timeout can stop (it waits for
        // READY=1) keeps its back-off for the next one (README "Readiness").
        if (notifier.enabled() && !config.tun.backoff_file.empty()) {
            (*client)->keep_backoff(config.tun.backoff_file);
        }
        enftun::service::Watchdog watchdog(loop, notifier);
        auto stop = [&](int signum) {
            ENFTUN_LOG_INFO("signal %d: shutting down", signum);
            notifier.stopping();
            (*client)->stop();
            loop.stop();
        };
        enftun::loop::Signal sigint(loop, SIGINT, stop);
        enftun::loop::Signal sigterm(loop, SIGTERM, stop);
        enftun::loop::Signal sigusr1(loop, SIGUSR1, [&](int) { (*client)->log_stats(); });
        enftun::loop::Signal sighup(loop, SIGHUP,
                                    [&](int) { reload(**client, path, notifier, verbose); });
        enftun::tunnel::ClientControl control(loop, config, **client);
        (*client)->start();
        control.start();
        watchdog.start();
        loop.run();
        (*client)->log_stats();
        if ((*client)->failed()) {
            exit_code = 1;
        }
    }
    // Leaving the scope closed every handle; ~Loop runs their close callbacks.
    return exit_code;
}

} // namespace

int main(int argc, char** argv) {
    // First of all: no core dump and no ptrace (the keys), then `status`.
    if (int rc = enftun::cli::start_daemon(argc, argv, enftun::app::status_main); rc >= 0) {
        return rc;
    }
    Args args;
    if (int rc = parse_args(argc, argv, args); rc >= 0) {
        return rc;
    }
    auto config = enftun::config::load_client_config(args.config);
    if (!config) {
        std::fprintf(stderr, "enftun: %s\n", config.error().message.c_str());
        return 1;
    }
    enftun::log::set_level(enftun::log::more_verbose(config->log.level, args.verbose));
    // Not with -p: enftun-setup reads its values with it.
    if (!args.print) {
        for (const auto& warning : config->warnings) {
            ENFTUN_LOG_WARN("%s", warning.c_str());
        }
    }
    if (args.print) {
        if (!effective_ipv4_for_print(*config, args.print_key)) {
            return 1;
        }
        const auto secrets =
            args.show_secrets ? enftun::config::Secrets::Show : enftun::config::Secrets::Redact;
        auto value = args.print_key == "all"
                         ? enftun::config::print_all_client_keys(*config, secrets)
                         : enftun::config::print_client_key(*config, args.print_key, secrets);
        if (!value) {
            std::fprintf(stderr, "enftun: %s\n", value.error().message.c_str());
            return 1;
        }
        std::fputs(value->c_str(), stdout);
        if (args.print_key != "all") {
            std::fputc('\n', stdout);
        }
        return 0;
    }
    return run(*config, args.config, args.verbose);
}
