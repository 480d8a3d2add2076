#include "enftun/process/idle_pages.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>

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

// Resident bytes, from /proc/self/statm ("SIZE RESIDENT ..." in pages).
// Plain read() and from_chars, no stdio: this runs right after the release,
// and every library page it touches is mapped back (16 at a time).
std::size_t resident_bytes() {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    std::string_view rest(buf, static_cast<std::size_t>(n));
    next_field(rest); // size
    std::size_t pages = 0;
    std::string_view resident = next_field(rest);
    if (!resident.empty() && resident.back() == '\n') {
        resident.remove_suffix(1);
    }
    if (!parse_number(resident, pages, 10)) {
        return 0;
    }
    return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

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

Result<ReleaseReport> release_idle_pages() {
    ReleaseReport report;
    report.resident_before = resident_bytes();
    malloc_trim(0);
    std::unique_ptr<std::FILE, FileCloser> smaps(std::fopen("/proc/self/smaps", "re"));
    if (!smaps) {
        return make_error(Errc::System, "open /proc/self/smaps", errno);
    }
    // Scan all of it before the first madvise: the scan itself must not see
    // a half-released state, and the ranges are few (one per library segment).
    SmapsScanner scanner;
    char line[512];
    bool continuation = false; // the rest of a line longer than the buffer
    while (std::fgets(line, sizeof line, smaps.get())) {
        std::string_view text(line);
        bool complete = !text.empty() && text.back() == '\n';
        if (!continuation) {
            scanner.feed_line(text); // every field we read is near the start
        }
        continuation = !complete;
    }
    smaps.reset();
    for (const MappedRange& r : scanner.droppable()) {
        if (madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED) == 0) {
            ++report.mappings;
        }
    }
    report.resident_after = resident_bytes();
    return report;
}

} // namespace enftun::process
