#include "enftun/router/status_command.hpp"

#include "enftun/config/router_config.hpp"
#include "enftun/control/control_client.hpp"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace enftun::router {

namespace {

void usage(FILE* out) {
    std::fprintf(out, "usage: enftun-router status [-c FILE] [--json | --metrics]\n"
                      "  -c, --config FILE   the router's config (its router.control_socket)\n"
                      "      --json          one JSON object (README: Router status)\n"
                      "      --metrics       OpenMetrics text\n");
}

// Why the router did not answer, in words an operator can act on.
std::string explain(const Error& e) {
    if (e.code == Errc::System && (e.sys == ENOENT || e.sys == ECONNREFUSED)) {
        return "no router answers there (is it running? is router.control_socket set?)";
    }
    if (e.code == Errc::System && e.sys == EACCES) {
        return "permission denied (the router's group may ask)";
    }
    if (e.code == Errc::Timeout) {
        return "no answer in time";
    }
    std::string text = e.what;
    if (e.sys != 0) {
        text += std::string(": ") + std::strerror(e.sys);
    }
    return text;
}

} // namespace

int status_command(int argc, char** argv) {
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
        std::fprintf(stderr, "enftun-router status: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    std::string socket = config::RouterConfig{}.control_socket;
    if (!config_path.empty()) {
        auto config = config::load_router_config(config_path);
        if (!config) {
            std::fprintf(stderr, "enftun-router status: %s\n", config.error().message.c_str());
            return 1;
        }
        if (config->control_socket.empty()) {
            std::fprintf(stderr,
                         "enftun-router status: %s: router.control_socket is \"\": the "
                         "router has no control socket\n",
                         config_path.c_str());
            return 1;
        }
        socket = config->control_socket;
    }
    auto answer = control::send_request(socket, request);
    if (!answer) {
        std::fprintf(stderr, "enftun-router status: %s: %s\n", socket.c_str(),
                     explain(answer.error()).c_str());
        return 1;
    }
    std::fwrite(answer->data(), 1, answer->size(), stdout);
    return answer->starts_with("error: ") ? 1 : 0;
}

} // namespace enftun::router
