// The descriptor budget of enftun-enroll: every connection a listener runs
// or keeps waiting (BoundedPool) holds a socket, so the process must be
// allowed that many descriptors plus its own files; otherwise accept()
// fails with EMFILE, which httplib 0.11 retries every millisecond while
// the file writes of real requests fail too. Checked once at start.
#pragma once

#include "common/failure.hpp"

#include <cstdint>
#include <string>

namespace enftun::enroll {

// Raises the soft RLIMIT_NOFILE to `needed` when it is lower (never lowers
// it). Errors: the hard limit is lower than `needed` (the message names
// both numbers; `what` says where the need comes from), setrlimit failed.
[[nodiscard]] keygen::Outcome<void> ensure_fd_limit(std::uint64_t needed, const std::string& what);

} // namespace enftun::enroll
