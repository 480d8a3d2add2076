// Control requests: the one-line text a client of the control socket sends
// (pure: no loop, no I/O). Both daemons answer the same requests:
//
//   status          a short human table
//   status json     one JSON object (README "Operating" lists the fields)
//   metrics         OpenMetrics text (openmetrics.hpp), ending in "# EOF"
//
// A request is printable ASCII words separated by spaces, at most
// kMaxRequestBytes long; a trailing "\r" is ignored. Anything else is
// answered with one "error: ..." line (error_line) and never echoed back.
#pragma once

#include "enftun/util/result.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace enftun::control {

// The longest request line, its newline included.
inline constexpr std::size_t kMaxRequestBytes = 256;

enum class RequestKind { StatusText, StatusJson, Metrics };

// Parses one request line (without its newline).
// Errors: Truncated (empty line), NoSpace (longer than kMaxRequestBytes),
// Malformed (a byte that is not printable ASCII), Unsupported (not a
// request listed above). Error::what is a fixed string fit for error_line.
Result<RequestKind> parse_request(std::string_view line);

// "error: REASON\n": the one answer to a bad request.
std::string error_line(std::string_view reason);

// What a daemon renders for each request; each returns the whole answer.
struct StatusRenderers {
    std::function<std::string()> text;
    std::function<std::string()> json;
    std::function<std::string()> metrics;
};

// Parses `line` and answers it with the matching renderer, or with an
// error line: the handler a daemon gives its ControlServer.
std::string answer_request(std::string_view line, const StatusRenderers& renderers);

} // namespace enftun::control
