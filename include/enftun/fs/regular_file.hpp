// Telling whether a path the daemon is about to hand to a library (OpenSSL
// reads certificates, CA files and CRLs by path, with fopen) is a regular
// file, without blocking: a FIFO there would block that read until a writer
// comes, that is forever, and a device would never end.
//
// open_regular_file does the same and hands the open descriptor and its stat
// to a caller that reads the file itself (fs/small_file).
//
// Errors: System with errno (cannot open or stat: ENOENT, EACCES, ELOOP
// with O_NOFOLLOW, ...), Malformed with EINVAL ("not a regular file").
#pragma once

#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <sys/stat.h>

#include <string>

namespace enftun::fs {

// Follows symlinks, as an operator's configured path is meant.
Status require_regular_file(const std::string& path);

struct RegularFile {
    UniqueFd fd;
    struct stat st {};
};

// Opens read-only, non-blocking and close-on-exec; extra_flags adds flags
// such as O_NOFOLLOW.
Result<RegularFile> open_regular_file(const std::string& path, int extra_flags = 0);

} // namespace enftun::fs
