#include "run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enftun::keygen {

RunLock::~RunLock() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::string run_lock_file(const std::string& key_file) {
    return key_file + ".lock";
}

Outcome<RunLock> lock_identity(const std::string& key_file) {
    const std::string path = run_lock_file(key_file);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return Failure{"cannot open the lock file " + path + ": " + std::strerror(errno)};
    }
    RunLock lock(fd);
    int rc = 0;
    do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EWOULDBLOCK) {
            return Failure{"another enftun-keygen is running for " + key_file + " (" + path +
                           " is locked): run again once it has finished"};
        }
        return Failure{"cannot lock " + path + ": " + std::strerror(errno)};
    }
    return lock;
}

} // namespace enftun::keygen
