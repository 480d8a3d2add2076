// Telling whether a path the daemon is about to hand to a library (OpenSSL
// reads certificates, CA files and CRLs by path, with fopen) is a regular
// file, without blocking: a FIFO there would block that read until a writer
// comes, that is forever, and a device would never end.
//
// Errors: System with errno (cannot open or stat: ENOENT, EACCES, ...),
// Malformed with EINVAL ("not a regular file").
#pragma once

#include "enftun/util/result.hpp"

#include <string>

namespace enftun::fs {

// Follows symlinks, as an operator's configured path is meant.
Status require_regular_file(const std::string& path);

} // namespace enftun::fs
