#include "enftun/process/proc_files.hpp"

#include <charconv>

namespace enftun::process {

namespace {

// Splits off the next space-separated field of a smaps line.
std::string_view next_field(std::string_view& line) {
    std::size_t begin = line.find_first_not_of(' ');
    if (begin == std::string_view::npos) {
        line = {};
        return {};
    }
    line.remove_prefix(begin);
    std::size_t end = line.find(' ');
    std::string_view field = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return field;
}

template <typename T>
bool parse_number(std::string_view text, T& out, int base) {
    if (text.empty()) {
        return false;
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

// A mapping's header line (proc(5)): "START-END PERMS OFFSET DEV INODE [PATH]";
// its field lines start with a key ending in ':' ("Size:   4 kB").
bool parse_range(std::string_view field, MappedRange& out) {
    std::size_t dash = field.find('-');
    return dash != std::string_view::npos && parse_number(field.substr(0, dash), out.start, 16) &&
           parse_number(field.substr(dash + 1), out.end, 16) && out.start < out.end;
}

} // namespace

void SmapsScanner::feed_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    std::string_view rest = line;
    std::string_view first = next_field(rest);
    if (first.empty()) {
        return;
    }
    if (first.back() == ':') { // a field of the current mapping
        if (!candidate_ || first != "Anonymous:") {
            return;
        }
        // Copy-on-write pages mean the mapping was written once (RELRO):
        // dropping them would bring back the file's bytes. Only 0 qualifies.
        std::size_t kib = 1;
        if (parse_number(next_field(rest), kib, 10) && kib == 0) {
            droppable_.push_back(current_);
        }
        candidate_ = false;
        return;
    }
    // A header. One we cannot read ends the previous mapping all the same,
    // so that its fields are never taken for the previous mapping's.
    candidate_ = false;
    MappedRange range;
    if (!parse_range(first, range)) {
        return;
    }
    std::string_view perms = next_field(rest);
    next_field(rest); // offset
    next_field(rest); // device
    unsigned long inode = 0;
    bool file = parse_number(next_field(rest), inode, 10) && inode != 0;
    current_ = range;
    // "r-xp" / "r--p": readable, not writable, private. Shared mappings and
    // writable ones are left alone, as is anything not from a file (heap,
    // stacks, [vdso]).
    candidate_ = file && perms.size() == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
}

std::optional<std::size_t> parse_statm_resident(std::string_view statm) {
    next_field(statm); // size
    std::string_view resident = next_field(statm);
    while (!resident.empty() && resident.back() == '\n') {
        resident.remove_suffix(1);
    }
    std::size_t pages = 0;
    if (!parse_number(resident, pages, 10)) {
        return std::nullopt;
    }
    return pages;
}

} // namespace enftun::process
