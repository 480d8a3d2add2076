// Private key files: the permission rule and a loader that applies it.
//
// A key file must not be readable, writable or executable by others. It may
// be readable by its group only if that group is one of the process's own
// (its gid or a supplementary group: the service's group, as a deployment
// that shares one key between a service user and root does) and the group
// cannot write it. Anything looser is refused: a key others could read is
// no longer a secret, and one others could replace is no longer ours.
#pragma once

#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <sys/types.h>

#include <span>
#include <string>

namespace enftun::tls {

// nullptr if a file with this mode and group may hold our key, given the
// process's groups; else the reason ("readable by others").
const char* check_key_mode(mode_t mode, gid_t file_gid, std::span<const gid_t> own_groups);

// Opens path (following symlinks, as the administrator meant) and checks the
// permission rule on the opened file itself; the caller reads the key from
// the descriptor, so the file checked is the file read. Errors (each logged
// once, with the path): System (cannot open/stat, sys = errno), Identity
// (not a regular file: a FIFO would block the read; permissions too open,
// with the mode and the fix).
Result<UniqueFd> open_key_file(const std::string& path);

// Opens path (following symlinks, as the administrator meant), checks the
// permission rule on the opened file itself, and reads a PEM private key
// from the same descriptor, so the file checked is the file read.
// Errors (each logged once, with the path): System (cannot open/stat,
// sys = errno), Identity (not a regular file; permissions too open, with
// the mode and the fix), Tls (not a PEM private key).
Result<PkeyPtr> load_private_key(const std::string& path);

} // namespace enftun::tls
