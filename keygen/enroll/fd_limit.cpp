#include "enroll/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace enftun::enroll {

keygen::Outcome<void> ensure_fd_limit(std::uint64_t needed, const std::string& what) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return keygen::Failure{std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno)};
    }
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) {
        return {};
    }
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) {
        return keygen::Failure{what + " need " + std::to_string(needed) +
                               " file descriptors, but RLIMIT_NOFILE allows " +
                               std::to_string(lim.rlim_max) +
                               " (raise it, e.g. LimitNOFILE=, or lower the key)"};
    }
    lim.rlim_cur = needed;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return keygen::Failure{std::string("setrlimit(RLIMIT_NOFILE, ") + std::to_string(needed) +
                               "): " + std::strerror(errno)};
    }
    return {};
}

} // namespace enftun::enroll
