#include "enftun/fs/small_file.hpp"

#include "enftun/fs/regular_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace enftun::fs {

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes,
                                    Symlink symlink) {
    const int nofollow = symlink == Symlink::Refuse ? O_NOFOLLOW : 0;
    auto file = open_regular_file(path, nofollow);
    if (!file) {
        return file.error();
    }
    const UniqueFd& fd = file->fd;
    const struct stat& st = file->st;
    // Ours or root's only: in a shared folder (/tmp) another user could have
    // put a file there before the daemon first wrote it, to be read as ours.
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return make_error(Errc::Malformed, "owned by another user", EPERM);
    }
    // One byte more than allowed tells a file that is too long.
    std::string text(max_bytes + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return make_error(Errc::System, "cannot read", errno);
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got > max_bytes) {
        return make_error(Errc::Malformed, "file too long", EFBIG);
    }
    text.resize(got);
    return text;
}

} // namespace enftun::fs
