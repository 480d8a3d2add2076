// Helpers both daemons use to render status answers (pure: no I/O): the
// aligned "key: value" table of `status`, human durations and byte counts,
// and the JSON line of `status json` (nlohmann::json, which never throws
// here: invalid UTF-8 in a string is replaced, not rejected).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enftun::control {

// Rows of "key  value", the values aligned in one column:
//
//   state        up
//   router       router.example.net:443
class TextTable {
public:
    void row(std::string key, std::string value);
    std::string render() const;

private:
    std::vector<std::pair<std::string, std::string>> rows_;
};

// "3d 4h", "2h 5m", "7m 12s", "42s" (two units at most; negative is "0s").
std::string human_duration(std::int64_t seconds);
// "812 B", "12.3 KiB", "4.0 GiB".
std::string human_bytes(std::uint64_t bytes);
// "2026-12-06T14:53:41Z"; "" for 0 (never).
std::string rfc3339_utc(std::int64_t unix_seconds);

// The JSON text of `value` on one line, a newline after it.
std::string json_line(const nlohmann::json& value);

} // namespace enftun::control
