#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

Outcome<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                                std::optional<FileOwner> owner) {
    const std::string dir = folder_of(path);
    std::string tmpl = path + ".tmp-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    // mkstemp creates the file 0600: a key is never readable by others, even
    // for the moment before fchmod.
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
        return failure("create a temporary file for", path, errno);
    }
    const std::string tmp(name.data());
    const char* step = nullptr;
    if (owner && ::fchown(fd, owner->uid, owner->gid) != 0) {
        step = "set the owner of";
    } else if (::fchmod(fd, mode) != 0) {
        step = "set the mode of";
    } else if (!write_all(fd, data)) {
        step = "write";
    } else if (::fsync(fd) != 0) {
        step = "fsync";
    }
    const int err = errno;
    if (step != nullptr) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return failure(step, path, err);
    }
    if (::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return failure("write", path, e);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return failure("rename a temporary file onto", path, e);
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return failure("open the folder of", path, errno);
    }
    const bool synced = ::fsync(dfd) == 0;
    const int e = errno;
    ::close(dfd);
    if (!synced) {
        return failure("fsync the folder of", path, e);
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
