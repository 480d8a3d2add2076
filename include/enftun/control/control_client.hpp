// The command line's end of the control socket (`enftun status`,
// `enftun-router status`): one blocking request, bounded in time and size.
#pragma once

#include "enftun/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace enftun::control {

// Sends `request` and a newline to the socket at `path`, returns the whole
// answer (read until the daemon closes).
// Errors: Config (path not absolute or too long), System with the errno
// of connect (ENOENT or ECONNREFUSED: no daemon there; EACCES: no
// permission) or of send/recv, Timeout (no room to connect in the
// listener's backlog, or no full answer, within timeout_ms each),
// NoSpace (the answer exceeds max_answer bytes).
Result<std::string> send_request(const std::string& path, std::string_view request,
                                 int timeout_ms = 5000, std::size_t max_answer = 16u << 20);

} // namespace enftun::control
