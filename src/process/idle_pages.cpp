#include "enftun/process/idle_pages.hpp"

#include "enftun/process/proc_files.hpp"
#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

namespace enftun::process {

namespace {

// Resident bytes, from /proc/self/statm ("SIZE RESIDENT ..." in pages).
// Plain read() and from_chars, no stdio: this runs right after the release,
// and every library page it touches is mapped back (16 at a time).
std::size_t resident_bytes() {
    UniqueFd fd(open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return 0;
    }
    char buf[128];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0) {
        return 0;
    }
    auto pages = parse_statm_resident(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!pages) {
        return 0;
    }
    return *pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

} // namespace

Result<ReleaseReport> release_idle_pages() {
    ReleaseReport report;
    report.resident_before = resident_bytes();
    malloc_trim(0);
    std::unique_ptr<std::FILE, Free<fclose>> smaps(std::fopen("/proc/self/smaps", "re"));
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
