#include "client_status_cli.hpp"

#include "enftun/config/client_config.hpp"
#include "enftun/control/control_client.hpp"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace enftun::app {

namespace {

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun status [-c FILE] [--json | --metrics]\n"
                      "  -c, --config FILE   the running client's configuration (default: the\n"
                      "                      socket of tun.dev enf0, /run/enftun/enf0.sock)\n"
                      "  --json              one JSON object (fields: README, \"Operating\")\n"
                      "  --metrics           OpenMetrics text\n");
}

// Why there is no answer, in the operator's words.
std::string why(const Error& e, const std::string& path) {
    if (e.code == Errc::System && (e.sys == ENOENT || e.sys == ECONNREFUSED)) {
        return "enftun is not running (no control socket at " + path + ")";
    }
    if (e.code == Errc::System && (e.sys == EACCES || e.sys == EPERM)) {
        return "no permission to use " + path +
               " (run as root or as a member of the daemon's group)";
    }
    if (e.code == Errc::Timeout) {
        return "no answer from " + path + " in time";
    }
    std::string out = path + ": " + e.what;
    if (e.sys != 0) {
        out += std::string(": ") + std::strerror(e.sys);
    }
    return out;
}

} // namespace

int status_main(int argc, char** argv) {
    static const option kOptions[] = {{"config", required_argument, nullptr, 'c'},
                                      {"json", no_argument, nullptr, 'j'},
                                      {"metrics", no_argument, nullptr, 'm'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    std::string config_path;
    const char* request = "status";
    int c = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            request = "status json";
            break;
        case 'm':
            request = "metrics";
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "enftun status: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    std::string path = config::default_control_socket(config::TunConfig{}.dev);
    if (!config_path.empty()) {
        auto config = config::load_client_config(config_path);
        if (!config) {
            std::fprintf(stderr, "enftun status: %s\n", config.error().message.c_str());
            return 1;
        }
        path = config->tun.control_socket;
        if (path.empty()) {
            std::fprintf(stderr, "enftun status: %s sets no control socket (tun.control_socket)\n",
                         config_path.c_str());
            return 1;
        }
    }
    auto answer = control::send_request(path, request);
    if (!answer) {
        std::fprintf(stderr, "enftun status: %s\n", why(answer.error(), path).c_str());
        return 1;
    }
    std::fputs(answer->c_str(), stdout);
    return answer->starts_with("error: ") ? 1 : 0;
}

} // namespace enftun::app
