// Writing a file so that a crash or power cut leaves either the old content
// or the new, never a mix, and no reader ever sees a half-written file: the
// bytes go to a fresh temporary file in the same folder (mkstemp: O_EXCL, so
// a planted file or symlink cannot redirect the write; mode 0600 until the
// final mode is set), which is fsynced and renamed over the target; then
// the folder is fsynced so the rename itself survives. A longer old file is
// wholly replaced, and a reader that opened it keeps reading it whole.
//
// The one writer of the project's files (keygen's keys, certificates and
// state, the client's ip_file; status and metrics files later). Errors are a
// FileError: a complete line naming the file and the failing step with
// strerror ("cannot write /x/y: No space left on device") and the errno.
// On an error the temporary file is removed and the target is untouched
// (unless only the folder's fsync failed: then the file is in place).
#pragma once

#include "enftun/util/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace enftun::fs {

struct FileError {
    std::string message; // "cannot STEP PATH: strerror"
    int sys = 0;         // the errno of the failing step
};

template <typename T>
using FileResult = Result<T, FileError>;

struct FileOwner {
    uid_t uid;
    gid_t gid;
};

// Replaces path with bytes, with mode (the umask does not apply) and, if
// given, owner.
[[nodiscard]] FileResult<void> write_file_atomically(const std::string& path,
                                                     std::string_view bytes, mode_t mode,
                                                     std::optional<FileOwner> owner = {});

// The same in two steps, for files that must all be written before any is
// replaced (a key and its certificate): stage() writes the temporary file,
// commit() renames it over the target and fsyncs the folder. Destroying an
// uncommitted StagedFile unlinks its temporary file.
class StagedFile {
public:
    [[nodiscard]] static FileResult<StagedFile> stage(const std::string& path,
                                                      std::string_view bytes, mode_t mode,
                                                      std::optional<FileOwner> owner = {});
    StagedFile(StagedFile&& o) noexcept;
    StagedFile& operator=(StagedFile&&) = delete;
    StagedFile(const StagedFile&) = delete;
    StagedFile& operator=(const StagedFile&) = delete;
    ~StagedFile();

    [[nodiscard]] FileResult<void> commit();
    const std::string& path() const { return path_; }

private:
    StagedFile(std::string path, std::string tmp) : path_(std::move(path)), tmp_(std::move(tmp)) {}
    std::string path_;
    std::string tmp_; // "" once committed or moved from
};

} // namespace enftun::fs
