// Writing identity files so that a crash leaves the old file or the new
// one, never a half-written or readable key (wg-quick save_config): each
// file is written to a mkstemp file in the same folder (mode 0600 from the
// start, then its final mode and owner), fsynced, then renamed over the
// target, and the folder is fsynced. A longer old file is wholly replaced.
//
// StagedFile keeps the temporary file until commit(); destroying an
// uncommitted one unlinks it, so a failure between staging and commit
// writes nothing. (common/atomic_file.hpp writes one file in one step; the
// device stages its key and certificate both before renaming either.)
#pragma once

#include "common/atomic_file.hpp"
#include "common/failure.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace enftun::keygen {

class StagedFile {
public:
    // Writes data to a temporary file next to path, with mode and, if
    // given, owner. Errors (a message naming the file): mkstemp, write,
    // fchmod, fchown, fsync failures.
    static Outcome<StagedFile> stage(const std::string& path, std::string_view data, mode_t mode,
                                     const std::optional<FileOwner>& owner);
    StagedFile(StagedFile&& o) noexcept;
    StagedFile& operator=(StagedFile&&) = delete;
    StagedFile(const StagedFile&) = delete;
    ~StagedFile();

    // rename() over the target, then fsync its folder. Errors: as above.
    Outcome<void> commit();
    const std::string& path() const { return path_; }

private:
    StagedFile(std::string path, std::string tmp) : path_(std::move(path)), tmp_(std::move(tmp)) {}
    std::string path_;
    std::string tmp_; // "" once committed or moved from
};

} // namespace enftun::keygen
