// Unit tests for process/proc_files and process/idle_pages: the smaps
// scanner picks exactly the private, read-only, file-backed mappings without
// copy-on-write pages; statm's resident field parses; and, against the real
// kernel, release_idle_pages() unmaps a clean file mapping (its Rss goes to
// 0 and it still reads back the file), leaves a mapping that was written and
// then made read-only (like RELRO) holding what was written, and leaves the
// process's libraries working.
#include "enftun/process/idle_pages.hpp"
#include "enftun/process/proc_files.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "test.hpp"

using enftun::process::MappedRange;
using enftun::process::SmapsScanner;

namespace {

std::vector<MappedRange> scan(const char* text) {
    SmapsScanner s;
    const char* p = text;
    while (*p != '\0') {
        const char* nl = std::strchr(p, '\n');
        std::size_t len = nl ? static_cast<std::size_t>(nl - p + 1) : std::strlen(p);
        s.feed_line(std::string_view(p, len));
        p += len;
    }
    return s.droppable();
}

// One mapping as proc(5) prints it, with the two fields the scanner reads.
std::string mapping(const char* header, int anon_kib) {
    return std::string(header) + "\nSize:                 8 kB\nRss:                  8 kB\n" +
           "Anonymous:            " + std::to_string(anon_kib) + " kB\nVmFlags: rd mr mw me\n";
}

void test_scanner_picks_clean_read_only_file_mappings(void**) {
    std::string text =
        mapping("55d0a000-55d0c000 r-xp 00001000 fe:01 1311 /usr/bin/enftun", 0) + // text
        mapping("55d0c000-55d0e000 r--p 00003000 fe:01 1311 /usr/bin/enftun", 0) + // rodata
        mapping("55d0e000-55d0f000 r--p 00005000 fe:01 1311 /usr/bin/enftun", 4) + // RELRO
        mapping("55d0f000-55d10000 rw-p 00006000 fe:01 1311 /usr/bin/enftun", 0) + // data
        mapping("55d10000-55d20000 rw-p 00000000 00:00 0    [heap]", 64) +
        mapping("7f000000-7f001000 r--s 00000000 fe:01 77   /var/cache/shared.db", 0) + // shared
        mapping("7f001000-7f002000 r--p 00000000 00:00 0", 0) +                         // anonymous
        mapping("7ffd0000-7ffd2000 r-xp 00000000 00:00 0    [vdso]", 0) +
        mapping("7f002000-7f003000 r-xp 00000000 fe:01 99   /usr/lib/with spaces.so", 0);
    auto got = scan(text.c_str());
    assert_int_equal(got.size(), 3);
    assert_int_equal(got[0].start, 0x55d0a000);
    assert_int_equal(got[0].end, 0x55d0c000);
    assert_int_equal(got[1].start, 0x55d0c000);
    assert_int_equal(got[2].start, 0x7f002000);
    assert_int_equal(got[2].end, 0x7f003000);
}

void test_scanner_needs_the_anonymous_line(void**) {
    // No "Anonymous:" line (a truncated read, another format): nothing qualifies,
    // neither this mapping nor, through a stale flag, the next one's header.
    auto got = scan("7f000000-7f001000 r-xp 00000000 fe:01 5 /lib/a.so\n"
                    "Size:   4 kB\n"
                    "7f001000-7f002000 rw-p 00000000 fe:01 5 /lib/a.so\n"
                    "Anonymous:   0 kB\n");
    assert_int_equal(got.size(), 0);
}

void test_scanner_ignores_malformed_lines(void**) {
    auto got = scan("\n"
                    "garbage\n"
                    "7f001000-7f000000 r-xp 00000000 fe:01 5 /lib/backwards.so\n"
                    "Anonymous:   0 kB\n"
                    "7f000000-7f001000 r-xp 00000000 fe:01 5 /lib/a.so\n"
                    "7f00z000-7f001000 r-xp 00000000 fe:01 5 /lib/unreadable.so\n"
                    "Anonymous:   0 kB\n"
                    "zz-7f002000 r-xp 00000000 fe:01 5 /lib/nothex.so\n"
                    "Anonymous:   0 kB\n"
                    "7f003000-7f004000 r-xp 00000000 fe:01 notanumber /lib/b.so\n"
                    "Anonymous:   0 kB\n"
                    "7f004000-7f005000 r-x\n"
                    "Anonymous:   0 kB\n"
                    "7f005000-7f006000 r-xp 00000000 fe:01 6 /lib/c.so\n"
                    "Anonymous:   -1 kB\n"
                    "7f006000-7f007000 r-xp 00000000 fe:01 6 /lib/c.so\r\n"
                    "Anonymous:   0 kB\r\n");
    assert_int_equal(got.size(), 1);
    assert_int_equal(got[0].start, 0x7f006000);
}

void test_statm_resident(void**) {
    using enftun::process::parse_statm_resident;
    assert_int_equal(parse_statm_resident("2301 913 677 46 0 233 0\n").value(), 913);
    assert_int_equal(parse_statm_resident("1 2").value(), 2);
    assert_false(parse_statm_resident("").has_value());
    assert_false(parse_statm_resident("2301\n").has_value());
    assert_false(parse_statm_resident("2301 x13 677").has_value());
    assert_false(parse_statm_resident("2301 -913 677").has_value());
}

// ---------------------------------------------------------- the real kernel

constexpr std::size_t kMapLen = 64 * 1024;

struct Real {
    int fd = -1;
    std::uint8_t* clean = nullptr;   // PROT_READ, only ever read
    std::uint8_t* written = nullptr; // written while PROT_WRITE, then PROT_READ
};
Real g;

int real_setup(void**) {
    char path[] = "/tmp/idle_pages_test.XXXXXX";
    g.fd = mkstemp(path);
    if (g.fd < 0) {
        return -1;
    }
    unlink(path);
    std::vector<std::uint8_t> file(kMapLen, 0xAB);
    if (write(g.fd, file.data(), file.size()) != static_cast<ssize_t>(file.size())) {
        return -1;
    }
    void* a = mmap(nullptr, kMapLen, PROT_READ, MAP_PRIVATE, g.fd, 0);
    void* b = mmap(nullptr, kMapLen, PROT_READ | PROT_WRITE, MAP_PRIVATE, g.fd, 0);
    if (a == MAP_FAILED || b == MAP_FAILED) {
        return -1;
    }
    g.clean = static_cast<std::uint8_t*>(a);
    g.written = static_cast<std::uint8_t*>(b);
    std::memset(g.written, 0x5A, kMapLen); // copy-on-write: anonymous pages now
    return mprotect(g.written, kMapLen, PROT_READ);
}

int real_teardown(void**) {
    if (g.clean) {
        munmap(g.clean, kMapLen);
    }
    if (g.written) {
        munmap(g.written, kMapLen);
    }
    if (g.fd >= 0) {
        close(g.fd);
    }
    g = Real{};
    return 0;
}

// Rss of the mapping starting at addr, from /proc/self/smaps; -1 if absent.
long rss_kib_at(const void* addr) {
    std::FILE* f = std::fopen("/proc/self/smaps", "re");
    if (!f) {
        return -1;
    }
    auto want = reinterpret_cast<std::uintptr_t>(addr);
    char line[512];
    bool in = false;
    long rss = -1;
    while (std::fgets(line, sizeof line, f)) {
        std::uintptr_t start = 0;
        std::uintptr_t end = 0;
        if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2) {
            in = start == want;
            continue;
        }
        if (in && std::sscanf(line, "Rss: %ld kB", &rss) == 1) {
            break;
        }
    }
    std::fclose(f);
    return rss;
}

unsigned sum(const std::uint8_t* p) {
    unsigned s = 0;
    for (std::size_t i = 0; i < kMapLen; i += 4096) {
        s += p[i];
    }
    return s;
}

void test_release_unmaps_clean_file_pages_only(void**) {
    unsigned pages = kMapLen / 4096;
    assert_int_equal(sum(g.clean), pages * 0xAB); // fault every page in
    assert_int_equal(rss_kib_at(g.clean), kMapLen / 1024);

    auto report = enftun::process::release_idle_pages();
    assert_true(report.has_value());
    assert_true(report->mappings > 0);
    assert_true(report->resident_after < report->resident_before);

    assert_int_equal(rss_kib_at(g.clean), 0);       // unmapped ...
    assert_int_equal(sum(g.clean), pages * 0xAB);   // ... and still the file's bytes
    assert_int_equal(sum(g.written), pages * 0x5A); // COW pages kept, not the file's 0xAB
    assert_int_equal(rss_kib_at(g.written), kMapLen / 1024);
}

void test_libraries_work_after_release(void**) {
    assert_true(enftun::process::release_idle_pages().has_value());
    // libcrypto's code, tables and relocated pointers: SHA-256("abc")
    // (FIPS 180-2, appendix B.1).
    unsigned char md[32];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest("abc", 3, md, &len, EVP_sha256(), nullptr), 1);
    assert_int_equal(len, 32);
    assert_memory_equal(
        md, hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").data(), 32);
}

} // namespace

int main() {
    const struct CMUnitTest scanner[] = {
        cmocka_unit_test(test_scanner_picks_clean_read_only_file_mappings),
        cmocka_unit_test(test_scanner_needs_the_anonymous_line),
        cmocka_unit_test(test_scanner_ignores_malformed_lines),
        cmocka_unit_test(test_statm_resident),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test_setup_teardown(test_release_unmaps_clean_file_pages_only, real_setup,
                                        real_teardown),
        cmocka_unit_test(test_libraries_work_after_release),
    };
    int failed = cmocka_run_group_tests_name("smaps scanner", scanner, nullptr, nullptr);
    failed += cmocka_run_group_tests_name("release on this process", real, nullptr, nullptr);
    return failed;
}
