#include "test_pause.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace enftun::keygen {

void test_pause(const char* point) {
    const char* want = std::getenv("ENFTUN_KEYGEN_TEST_PAUSE");
    if (want == nullptr || std::strcmp(want, point) != 0) {
        return;
    }
    std::fflush(stdout);
    std::fprintf(stderr, "enftun-keygen: test pause at %s\n", point);
    std::fflush(stderr);
    std::raise(SIGSTOP);
}

} // namespace enftun::keygen
