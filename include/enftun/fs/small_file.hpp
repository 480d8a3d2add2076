// Reading a small file the daemon keeps for itself (the DHCPv6 server's
// DUID, the client's back-off record): whole, bounded, only a regular
// file, so a planted FIFO cannot block the loop, and only one owned by the
// process's user or root, so one another user planted in a shared folder
// is not taken for the daemon's. The back-off record is
// read without following a symlink (a planted link cannot point the read
// elsewhere); the DUID file, a configured path an operator may have linked
// to persistent storage, follows one as it always did.
//
// Errors: System with errno ("cannot open": ENOENT when there is no file
// yet, ELOOP for a symlink; "cannot stat", "cannot read"), Malformed with
// EINVAL ("not a regular file"), EPERM ("owned by another user") or EFBIG
// ("file too long": more than max_bytes).
#pragma once

#include "enftun/util/result.hpp"

#include <cstddef>
#include <string>

namespace enftun::fs {

enum class Symlink { Refuse, Follow };

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes,
                                    Symlink symlink = Symlink::Refuse);

} // namespace enftun::fs
