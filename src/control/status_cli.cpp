#include "enftun/control/status_cli.hpp"

#include "enftun/control/control_client.hpp"

#include <getopt.h>

namespace enftun::control {

int run_status_cli(int argc, char** argv, const StatusCli& cli) {
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
            if (config_path.empty()) { // not "no -c": that would ask the default socket
                std::fprintf(stderr, "%s: -c needs a FILE, not \"\"\n", cli.program);
                cli.usage(stderr);
                return 2;
            }
            break;
        case 'j':
            request = "status json";
            break;
        case 'm':
            request = "metrics";
            break;
        case 'h':
            cli.usage(stdout);
            return 0;
        default:
            cli.usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "%s: unexpected argument: %s\n", cli.program, argv[optind]);
        cli.usage(stderr);
        return 2;
    }
    const SocketChoice socket = cli.socket_of(config_path);
    if (!socket.error.empty()) {
        std::fprintf(stderr, "%s: %s\n", cli.program, socket.error.c_str());
        return 1;
    }
    auto answer = send_request(socket.path, request);
    if (!answer) {
        std::fprintf(stderr, "%s: %s\n", cli.program, cli.why(answer.error(), socket.path).c_str());
        return 1;
    }
    std::fwrite(answer->data(), 1, answer->size(), stdout);
    return answer->starts_with("error: ") ? 1 : 0;
}

} // namespace enftun::control
