#include "staged_file.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

namespace enftun::keygen {

namespace {

Failure sys_failure(const std::string& what, const std::string& path) {
    return Failure{what + " " + path + ": " + std::strerror(errno)};
}

std::string folder_of(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

Outcome<StagedFile> StagedFile::stage(const std::string& path, std::string_view data, mode_t mode,
                                      const std::optional<FileOwner>& owner) {
    const std::filesystem::path p(path);
    std::string tmpl =
        (std::filesystem::path(folder_of(path)) / ("." + p.filename().string() + ".XXXXXX"))
            .string();
    // mkstemp creates the file 0600: a key is never readable by others,
    // not even for a moment.
    UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd.valid()) {
        return sys_failure("cannot create a temporary file for", path);
    }
    StagedFile staged(path, tmpl);
    if (!write_all(fd.get(), data)) {
        return sys_failure("cannot write", tmpl);
    }
    if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
        return sys_failure("cannot change the owner of", tmpl);
    }
    if (::fchmod(fd.get(), mode) != 0) {
        return sys_failure("cannot change the mode of", tmpl);
    }
    if (::fsync(fd.get()) != 0) {
        return sys_failure("cannot fsync", tmpl);
    }
    if (::close(fd.release()) != 0) {
        return sys_failure("cannot close", tmpl);
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

Outcome<void> StagedFile::commit() {
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        return sys_failure("cannot rename " + tmp_ + " to", path_);
    }
    tmp_.clear();
    const std::string dir = folder_of(path_);
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd.valid() || ::fsync(dfd.get()) != 0) {
        return sys_failure("cannot fsync folder", dir);
    }
    return {};
}

} // namespace enftun::keygen
