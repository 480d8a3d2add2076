// Idle pages: hand back the memory that only start-up needed.
//
// Starting the client touches much more code than moving packets does:
// OpenSSL's provider set-up, certificate and key loading, the TLS handshake,
// libconfig, the dynamic linker. The kernel maps file pages around every
// fault (fault-around, 16 pages on 6.x), so by the time the tunnel is up
// ~8 MiB of library pages are mapped (VmRSS), most never used again.
//
// release_idle_pages() unmaps them: madvise(MADV_DONTNEED) on every private,
// read-only, file-backed mapping that holds no copy-on-write page, and
// malloc_trim(0) for the heap. Read-only file pages are the file's own bytes,
// so dropping the mapping loses nothing: the page stays in the page cache
// (shared with every other process using the library), and a later access
// maps it back with a minor fault. What it buys: VmRSS shows the working set,
// and the kernel can reclaim the unmapped pages first under memory pressure,
// where mapped ones are protected. Mappings that were ever written (RELRO:
// GOT, .data.rel.ro, relocated by ld.so, then made read-only) have anonymous
// pages and are skipped: MADV_DONTNEED would revert them to the file's
// unrelocated bytes.
//
// The /proc parsing is pure, in process/proc_files.hpp. Call
// release_idle_pages() from the loop thread at a quiet point; no other
// thread may be mapping or unmapping libraries (dlopen) at the same time.
#pragma once

#include "enftun/util/result.hpp"

#include <cstddef>

namespace enftun::process {

struct ReleaseReport {
    std::size_t mappings = 0;        // mappings madvise'd
    std::size_t resident_before = 0; // bytes, from /proc/self/statm
    std::size_t resident_after = 0;
};

// Errors: Errc::System if /proc/self/smaps cannot be read (the heap is
// still trimmed). A mapping madvise refuses (locked, say) is skipped.
Result<ReleaseReport> release_idle_pages();

} // namespace enftun::process
