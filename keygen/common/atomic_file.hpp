// Files for the provisioning tools: written through the project's one
// atomic writer (enftun/fs/atomic_file.hpp: a temporary file in the same
// folder, fsynced, renamed over the target, the folder fsynced), with its
// errors as a Failure; read whole with a size bound.
#pragma once

#include "common/failure.hpp"
#include "enftun/fs/atomic_file.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace enftun::keygen {

using FileOwner = fs::FileOwner;

// Replaces path with data, created with mode (umask does not apply) and, if
// given, owner. Errors: a message naming the file and the failing step with
// strerror ("cannot write /x/y: No space left on device"); the temporary
// file is removed and path is untouched.
[[nodiscard]] Outcome<void> write_file_atomic(const std::string& path, std::string_view data,
                                              mode_t mode, std::optional<FileOwner> owner = {});

// When run as root: the owner of the folder path lies in, so that a file an
// administrator rewrites (e.g. `enftun-enroll revoke` in the service's state
// folder) stays owned by the service's user. Otherwise (or if the folder
// cannot be looked at): nullopt, the file gets the caller's owner.
std::optional<FileOwner> folder_owner_if_root(const std::string& path);

// Reads the whole file. Errors: cannot open or read (message with strerror),
// or larger than max_bytes. missing (if not null) is set when the file does
// not exist, and then the result is an error too.
[[nodiscard]] Outcome<std::string> read_file(const std::string& path, std::size_t max_bytes,
                                             bool* missing = nullptr);

} // namespace enftun::keygen
