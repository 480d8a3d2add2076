#include "enftun/fs/regular_file.hpp"

#include <fcntl.h>

#include <cerrno>

namespace enftun::fs {

Result<RegularFile> open_regular_file(const std::string& path, int extra_flags) {
    RegularFile file;
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    file.fd.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | extra_flags));
    if (!file.fd.valid()) {
        return make_error(Errc::System, "cannot open", errno);
    }
    if (::fstat(file.fd.get(), &file.st) != 0) {
        return make_error(Errc::System, "cannot stat", errno);
    }
    if (!S_ISREG(file.st.st_mode)) {
        return make_error(Errc::Malformed, "not a regular file", EINVAL);
    }
    return file;
}

Status require_regular_file(const std::string& path) {
    auto file = open_regular_file(path);
    if (!file) {
        return file.error();
    }
    return {};
}

} // namespace enftun::fs
