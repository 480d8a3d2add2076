// Writing identity files so that a crash leaves the old file or the new
// one, never a half-written or readable key (wg-quick save_config): each
// file is written to a mkstemp file in the same folder (mode 0600 from the
// start, then its final mode and owner), fsynced, then renamed over the
// target, and the folder is fsynced. A longer old file is wholly replaced.
//
// StagedFile keeps the temporary file until commit(); destroying an
// uncommitted one unlinks it, so a failure between staging and commit
// writes nothing.
#pragma once

#include "enftun/util/result.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>

namespace enftun::keygen {

struct FileOwner {
    uid_t uid = 0;
    gid_t gid = 0;
    bool change = false; // false: leave the owner as created (our euid)
};

class StagedFile {
public:
    // Writes data to a temporary file next to path. Errors (a message
    // naming the file): mkstemp, write, fchmod, fchown, fsync failures.
    static Result<StagedFile, std::string> stage(const std::string& path, std::string_view data,
                                                 mode_t mode, const FileOwner& owner);
    StagedFile(StagedFile&& o) noexcept;
    StagedFile& operator=(StagedFile&&) = delete;
    StagedFile(const StagedFile&) = delete;
    ~StagedFile();

    // rename() over the target, then fsync its folder. Errors: as above.
    Result<void, std::string> commit();
    const std::string& path() const { return path_; }

private:
    StagedFile(std::string path, std::string tmp) : path_(std::move(path)), tmp_(std::move(tmp)) {}
    std::string path_;
    std::string tmp_; // "" once committed or moved from
};

} // namespace enftun::keygen
