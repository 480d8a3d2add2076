// The command line both `enftun status` and `enftun-router status` share:
// [-c FILE] [--json | --metrics] [-h], one request over the control socket,
// the answer on stdout. Each program supplies what differs: its usage text,
// how a config file names its socket, and how it explains a missing answer.
#pragma once

#include "enftun/util/result.hpp"

#include <cstdio>
#include <functional>
#include <string>

namespace enftun::control {

// The socket to ask, or (error non-empty) one line saying why there is none.
struct SocketChoice {
    std::string path;
    std::string error;
};

struct StatusCli {
    const char* program;  // "enftun status": the prefix of every message
    void (*usage)(FILE*); // the usage text
    // The socket of config_path ("" without -c: the default one).
    std::function<SocketChoice(const std::string& config_path)> socket_of;
    // Why no answer came from path, in words an operator can act on.
    std::function<std::string(const Error&, const std::string& path)> why;
};

// Runs the command with argv's options (argv[0] is "status"). Returns the
// exit status: 0 with an answer, 1 without one or on an `error:` answer,
// 2 for a usage error.
int run_status_cli(int argc, char** argv, const StatusCli& cli);

} // namespace enftun::control
