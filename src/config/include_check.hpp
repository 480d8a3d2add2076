// Private to src/config: the files a config's @include lines name, checked
// before libconfig opens them.
//
// libconfig (1.5) opens an included file with fopen and reads all of it: a
// FIFO would block the daemon (at start, or on the loop at a SIGHUP reload)
// and a huge file would cost unbounded time and memory, none of which the
// bounded read of the top file (read_config_file) prevents. So every
// included file, at every depth libconfig would follow, must be a regular
// file, and all of them together at most kMaxIncludedBytes.
//
// A line is an @include as libconfig's scanner sees one: optional blanks,
// "@include", blanks, a double-quoted name (\\ and \" escaped), and the
// file is base_dir + "/" + name (name alone if base_dir is empty), as
// libconfig joins them. A file that cannot be opened is left to libconfig
// to report ("cannot open include file"). The check and libconfig's open
// are two opens: a file replaced in between is the operator's own doing.
#pragma once

#include "enftun/config/values.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace enftun::config::detail {

inline constexpr std::size_t kMaxIncludedBytes = std::size_t{1} << 20;

// The first problem with text's includes (label names text in messages),
// as "FILE:LINE: @include "NAME": reason"; nullopt if there is none.
std::optional<ConfigError> check_includes(const std::string& text, const std::string& label,
                                          const std::string& base_dir);

} // namespace enftun::config::detail
