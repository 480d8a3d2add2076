#include "enftun/fs/regular_file.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace enftun::fs {

Status require_regular_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot open", errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return make_error(Errc::System, "cannot stat", errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(Errc::Malformed, "not a regular file", EINVAL);
    }
    return {};
}

} // namespace enftun::fs
