// Fuzz target: the /proc parsers of process/proc_files (SmapsScanner and
// parse_statm_resident). The kernel writes these files, but a parser that
// decides what to madvise away must not crash or invent a mapping on text it
// does not expect (a new kernel's format, a truncated read).
//
// Input: text, split into lines at '\n' (each fed with its newline).
// Checks: every droppable range is non-empty; there are no more of them
// than "Anonymous:" lines, nor than header lines with read-only permissions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "enftun/process/proc_files.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

std::string_view first_field(std::string_view line) {
    std::size_t b = line.find_first_not_of(' ');
    if (b == std::string_view::npos) {
        return {};
    }
    line.remove_prefix(b);
    return line.substr(0, line.find_first_of(" \r\n"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    process::SmapsScanner scanner;
    std::size_t anonymous_lines = 0;
    std::size_t read_only_headers = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view line = text.substr(pos, end - pos);
        pos = end;
        scanner.feed_line(line);
        std::string_view first = first_field(line);
        if (first == "Anonymous:") {
            ++anonymous_lines;
        } else if (first.find('-') != std::string_view::npos &&
                   line.find(" r-") != std::string_view::npos) {
            ++read_only_headers;
        }
    }
    const auto& dropped = scanner.droppable();
    FUZZ_CHECK(dropped.size() <= anonymous_lines);
    FUZZ_CHECK(dropped.size() <= read_only_headers);
    for (const auto& r : dropped) {
        FUZZ_CHECK(r.start < r.end);
    }
    (void)process::parse_statm_resident(text);
    return 0;
}
