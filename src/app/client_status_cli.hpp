// `enftun status [-c FILE] [--json | --metrics]`: asks the running client over
// its control socket (tun.control_socket of FILE; without -c the default
// tun.dev's, /run/enftun/enf0.sock) and prints the answer.
//
// Exit codes: 0 the answer was printed; 1 no answer (the daemon is not
// running, the socket is not ours to use, the config does not load), with
// one line on stderr saying which; 2 a usage error.
#pragma once

namespace enftun::app {

// argv[0] is "status".
int status_main(int argc, char** argv);

} // namespace enftun::app
