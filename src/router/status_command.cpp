#include "enftun/router/status_command.hpp"

#include "enftun/config/router_config.hpp"
#include "enftun/control/status_cli.hpp"

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
    control::StatusCli cli{
        "enftun-router status", usage,
        [](const std::string& config_path) -> control::SocketChoice {
            if (config_path.empty()) {
                return {config::RouterConfig{}.control_socket, ""};
            }
            auto config = config::load_router_config(config_path);
            if (!config) {
                return {"", config.error().message};
            }
            if (config->control_socket.empty()) {
                return {"", config_path + ": router.control_socket is \"\": the router has no "
                                          "control socket"};
            }
            return {config->control_socket, ""};
        },
        [](const Error& e, const std::string& path) { return path + ": " + explain(e); }};
    return control::run_status_cli(argc, argv, cli);
}

} // namespace enftun::router
