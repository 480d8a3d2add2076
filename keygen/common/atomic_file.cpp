#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enftun::keygen {

namespace {

std::string folder_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

Failure failure(const char* step, const std::string& path, int err) {
    return Failure{std::string("cannot ") + step + " " + path + ": " + std::strerror(err)};
}

} // namespace

Outcome<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                                std::optional<FileOwner> owner) {
    if (auto st = fs::write_file_atomically(path, data, mode, owner); !st) {
        return Failure{st.error().message};
    }
    return {};
}

std::optional<FileOwner> folder_owner_if_root(const std::string& path) {
    struct stat st {};
    if (::geteuid() != 0 || ::stat(folder_of(path).c_str(), &st) != 0) {
        return std::nullopt;
    }
    return FileOwner{st.st_uid, st.st_gid};
}

Outcome<std::string> read_file(const std::string& path, std::size_t max_bytes, bool* missing) {
    if (missing != nullptr) {
        *missing = false;
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (missing != nullptr && errno == ENOENT) {
            *missing = true;
        }
        return failure("open", path, errno);
    }
    std::string out;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int e = errno;
            ::close(fd);
            return failure("read", path, e);
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) {
            ::close(fd);
            return Failure{"cannot read " + path + ": larger than " + std::to_string(max_bytes) +
                           " bytes"};
        }
    }
    ::close(fd);
    return out;
}

} // namespace enftun::keygen
