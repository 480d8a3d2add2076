// Parsers for the /proc files that process/idle_pages reads (proc(5)):
// /proc/PID/smaps, to find the mappings that are safe to drop, and
// /proc/PID/statm, for the resident set. Pure: text in, values out; the
// caller reads the files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace enftun::process {

struct MappedRange {
    std::uintptr_t start = 0;
    std::uintptr_t end = 0; // one past the last byte
};

// Reads /proc/PID/smaps one line at a time; droppable() lists the mappings
// that are safe to MADV_DONTNEED. A mapping qualifies only once its
// "Anonymous: 0 kB" line has been seen, so a truncated or unexpected format
// qualifies nothing.
class SmapsScanner {
public:
    void feed_line(std::string_view line);
    const std::vector<MappedRange>& droppable() const { return droppable_; }

private:
    MappedRange current_{};
    bool candidate_ = false; // header said: private, not writable, a file
    std::vector<MappedRange> droppable_;
};

// The resident set in pages: the second field of /proc/PID/statm
// ("SIZE RESIDENT SHARED TEXT LIB DATA DT"). nullopt if it is not there.
std::optional<std::size_t> parse_statm_resident(std::string_view statm);

} // namespace enftun::process
