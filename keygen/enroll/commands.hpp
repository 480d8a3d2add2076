// The administrative commands of enftun-enroll (everything but serving):
// `user add|del`, `list`, `revoke`. Each prints what it did or one error
// line, and returns the process exit code (0 ok, 1 failure, 2 usage).
#pragma once

#include "enroll/enroll_config.hpp"

#include <string>
#include <vector>

namespace enftun::enroll {

// args: the words after the global options, starting with the command.
int run_command(const EnrollConfig& cfg, const std::vector<std::string>& args);

} // namespace enftun::enroll
