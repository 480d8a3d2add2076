// `enftun-router status [-c FILE] [--json | --metrics]`: asks a running
// router over its control socket (router.control_socket of FILE, or the
// default /run/enftun-router/router.sock without -c) and prints the answer:
// the status table, the JSON object, or the OpenMetrics text
// (router/status_format.hpp). Blocking, bounded in time (5 s) and size.
#pragma once

namespace enftun::router {

// argv[0] is "status". Returns the exit status: 0 answered; 1 no answer
// (no router there, no permission, a timeout, an error answer; said on
// stderr); 2 bad usage.
int status_command(int argc, char** argv);

} // namespace enftun::router
