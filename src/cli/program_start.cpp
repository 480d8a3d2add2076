#include "enftun/cli/program_start.hpp"

#include <sys/prctl.h>

#include <string>

namespace enftun::cli {

bool harden_process() {
    if (prctl(PR_SET_DUMPABLE, 0) != 0) {
        std::perror("prctl(PR_SET_DUMPABLE)");
        return false;
    }
    return true;
}

int start_daemon(int argc, char** argv, int (*status_main)(int argc, char** argv)) {
    if (!harden_process()) {
        return 1;
    }
    if (argc > 1 && std::string(argv[1]) == "status") {
        return status_main(argc - 1, argv + 1);
    }
    return -1;
}

int finish_common_option(int c, const char* program, void (*usage)(FILE*)) {
    switch (c) {
    case 'V':
        std::printf("%s %s\n", program, ENFTUN_VERSION);
        return 0;
    case 'h':
        usage(stdout);
        return 0;
    default:
        usage(stderr);
        return 2;
    }
}

} // namespace enftun::cli
