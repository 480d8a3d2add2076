#include "client_status_cli.hpp"

#include "enftun/config/client_config.hpp"
#include "enftun/control/status_cli.hpp"

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
    control::StatusCli cli{
        "enftun status", usage,
        [](const std::string& config_path) -> control::SocketChoice {
            if (config_path.empty()) {
                return {config::default_control_socket(config::TunConfig{}.dev), ""};
            }
            auto config = config::load_client_config(config_path);
            if (!config) {
                return {"", config.error().message};
            }
            if (config->tun.control_socket.empty()) {
                return {"", config_path + " sets no control socket (tun.control_socket)"};
            }
            return {config->tun.control_socket, ""};
        },
        why};
    return control::run_status_cli(argc, argv, cli);
}

} // namespace enftun::app
