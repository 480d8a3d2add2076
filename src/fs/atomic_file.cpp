#include "enftun/fs/atomic_file.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace enftun::fs {

namespace {

std::string folder_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

// ".NAME.tmp-XXXXXX" next to NAME: hidden, so a glob over the folder (a
// conf.d, a watcher of *.pem) does not pick it up.
std::string temp_template(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
    return dir + "." + name + ".tmp-XXXXXX";
}

FileError failure(const char* step, const std::string& path, int err) {
    return FileError{std::string("cannot ") + step + " " + path + ": " + std::strerror(err), err};
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

FileResult<StagedFile> StagedFile::stage(const std::string& path, std::string_view bytes,
                                         mode_t mode, std::optional<FileOwner> owner) {
    std::string tmp = temp_template(path);
    // mkstemp creates the file 0600: a key is never readable by others, not
    // even for the moment before fchmod.
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd.valid()) {
        return failure("create a temporary file for", path, errno);
    }
    StagedFile staged(path, tmp); // from here on, a failure unlinks tmp
    const char* step = nullptr;
    if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
        step = "set the owner of";
    } else if (::fchmod(fd.get(), mode) != 0) {
        step = "set the mode of";
    } else if (!write_all(fd.get(), bytes)) {
        step = "write";
    } else if (::fsync(fd.get()) != 0) {
        step = "fsync";
    } else if (::close(fd.release()) != 0) {
        step = "write";
    }
    if (step != nullptr) {
        return failure(step, path, errno);
    }
    return staged;
}

StagedFile::StagedFile(StagedFile&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::exchange(o.tmp_, std::string())) {}

StagedFile::~StagedFile() {
    if (!tmp_.empty()) {
        ::unlink(tmp_.c_str());
    }
}

FileResult<void> StagedFile::commit() {
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        return failure("rename a temporary file onto", path_, errno);
    }
    tmp_.clear();
    UniqueFd dir(::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) {
        return failure("open the folder of", path_, errno);
    }
    if (::fsync(dir.get()) != 0) {
        return failure("fsync the folder of", path_, errno);
    }
    return {};
}

FileResult<void> write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode,
                                       std::optional<FileOwner> owner) {
    auto staged = StagedFile::stage(path, bytes, mode, owner);
    if (!staged) {
        return staged.error();
    }
    return staged->commit();
}

} // namespace enftun::fs
