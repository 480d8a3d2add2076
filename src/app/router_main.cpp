// enftun-router: the tunnel server. Wiring only: command line, config, signals.
#include "enftun/cli/program_start.hpp"
#include "enftun/config/router_config.hpp"
#include "enftun/log/log.hpp"
#include "enftun/loop/log_flush.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/router/router.hpp"
#include "enftun/router/router_control.hpp"
#include "enftun/router/status_command.hpp"
#include "enftun/service/notifier.hpp"
#include "enftun/service/status_throttle.hpp"
#include "enftun/service/watchdog.hpp"

#include <getopt.h>

#include <csignal>
#include <cstdio>
#include <string>

namespace {

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun-router -c FILE [-v] [--check]\n"
                      "       enftun-router status [-c FILE] [--json | --metrics]\n"
                      "       enftun-router --version | --help\n"
                      "options:\n"
                      "  -c, --config FILE   configuration file (libconfig syntax)\n"
                      "  -v, --verbose       log one level more than log.level (-vv: two)\n"
                      "  -t, --check         check FILE and exit: 0 if it loads, 1 if not\n");
}

} // namespace

int main(int argc, char** argv) {
    // First of all: no core dump and no ptrace (the keys), then `status`.
    if (int rc = enftun::cli::start_daemon(argc, argv, enftun::router::status_command); rc >= 0) {
        return rc;
    }
    static const option kOptions[] = {
        {"config", required_argument, nullptr, 'c'}, {"verbose", no_argument, nullptr, 'v'},
        {"check", no_argument, nullptr, 't'},        {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'},         {nullptr, 0, nullptr, 0}};
    std::string config_path;
    // --check: what a package upgrade runs with the new binary before it
    // restarts a running router (debian/enftun-router.postinst).
    bool check_only = false;
    unsigned verbose = 0; // -v given this many times
    int c = 0;
    while ((c = getopt_long(argc, argv, "c:vtVh", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'v':
            ++verbose;
            break;
        case 't':
            check_only = true;
            break;
        default: // -V, -h, unknown
            return enftun::cli::finish_common_option(c, "enftun-router", usage);
        }
    }
    if (optind < argc || config_path.empty()) {
        std::fprintf(stderr,
                     optind < argc ? "enftun-router: unexpected argument: %s\n"
                                   : "enftun-router: missing -c FILE%s\n",
                     optind < argc ? argv[optind] : "");
        usage(stderr);
        return 2;
    }
    auto config = enftun::config::load_router_config(config_path);
    if (!config) {
        std::fprintf(stderr, "enftun-router: %s\n", config.error().message.c_str());
        return 1;
    }
    if (check_only) {
        return 0;
    }
    enftun::log::set_level(enftun::log::more_verbose(config->log.level, verbose));
    std::signal(SIGPIPE, SIG_IGN);
    enftun::loop::Loop loop;
    enftun::loop::LogFlush log_flush(loop); // counts of rate-limited lines, when due
    // systemd (Type=notify): READY=1 once listening, STATUS= with the
    // session count (at most once a second), WATCHDOG=1 from the loop.
    enftun::service::Notifier notifier;
    {
        auto router = enftun::router::Router::create(loop, *config);
        if (!router) {
            return 1;
        }
        enftun::service::Watchdog watchdog(loop, notifier);
        enftun::service::StatusThrottle session_status(loop, notifier, 1000, [&] {
            const std::size_t n = (*router)->bound_sessions();
            return "listening on port " + std::to_string(config->port) + "; " + std::to_string(n) +
                   (n == 1 ? " session" : " sessions");
        });
        (*router)->set_on_sessions_changed([&] { session_status.changed(); });
        auto stop = [&](int signum) {
            ENFTUN_LOG_INFO("signal %d: shutting down", signum);
            notifier.stopping();
            (*router)->stop();
            loop.stop();
        };
        enftun::loop::Signal sigint(loop, SIGINT, stop);
        enftun::loop::Signal sigterm(loop, SIGTERM, stop);
        enftun::loop::Signal sigusr1(loop, SIGUSR1, [&](int) { (*router)->log_stats(); });
        // SIGHUP (`systemctl reload`): read the config again; a file that
        // does not load changes nothing.
        enftun::loop::Signal sighup(loop, SIGHUP, [&](int) {
            ENFTUN_LOG_INFO("SIGHUP: reloading %s", config_path.c_str());
            notifier.reloading();
            auto fresh = enftun::config::load_router_config(config_path);
            if (!fresh) {
                ENFTUN_LOG_ERROR("reload rejected: %s; the running config stays",
                                 fresh.error().message.c_str());
            } else {
                enftun::log::set_level(enftun::log::more_verbose(fresh->log.level, verbose));
                (void)(*router)->reload(*fresh);
            }
            // The end of the reload's lines: what a reader (or a test) waits for.
            ENFTUN_LOG_INFO("SIGHUP: reload finished");
            notifier.ready_after_reload();
        });
        enftun::router::RouterControl control(loop, **router, *config); // status, metrics
        session_status.changed();
        notifier.ready();
        watchdog.start();
        loop.run();
        (*router)->set_on_sessions_changed({}); // session_status goes first
        (*router)->log_stats();
    }
    return 0;
}
