// fs::write_file_atomically and fs::StagedFile: a longer old file is wholly
// replaced with the new mode; a reader of the old file keeps it whole; a
// staged but uncommitted file leaves the old one and no temporary file; a
// planted symlink at a temporary-looking name is not followed; errors name
// the file and the step and carry the errno.
#include "enftun/fs/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

// Last: cmocka's fail() macro would clash with std::basic_ios::fail().
#include "test.hpp"
#include "test_certs.hpp"

using enftun::fs::StagedFile;
using enftun::fs::write_file_atomically;

namespace {

std::string g_dir;

int setup(void**) {
    g_dir = test_certs::make_temp_dir();
    return g_dir.empty() ? -1 : 0;
}

int teardown(void**) {
    test_certs::remove_temp_dir(g_dir);
    return 0;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::size_t entries() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(g_dir)) {
        ++n;
    }
    return n;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    assert_int_equal(::lstat(path.c_str(), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    return st.st_mode & 07777;
}

void clear_dir() {
    for (const auto& e : std::filesystem::directory_iterator(g_dir)) {
        std::filesystem::remove(e.path());
    }
}

void test_replaces_longer_file(void**) {
    clear_dir();
    const std::string path = g_dir + "/key.pem";
    std::ofstream(path) << std::string(5000, 'x');
    ::chmod(path.c_str(), 0644);
    auto staged = StagedFile::stage(path, "short\n", 0600);
    assert_true(staged.has_value());
    assert_string_equal(slurp(path).c_str(), std::string(5000, 'x').c_str()); // not yet
    assert_int_equal(entries(), 2);
    assert_true(staged->commit().has_value());
    assert_string_equal(slurp(path).c_str(), "short\n");
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(entries(), 1);
}

void test_uncommitted_writes_nothing(void**) {
    clear_dir();
    const std::string path = g_dir + "/cert.pem";
    std::ofstream(path) << "old\n";
    {
        auto staged = StagedFile::stage(path, "new\n", 0644);
        assert_true(staged.has_value());
        assert_int_equal(entries(), 2);
    }
    assert_string_equal(slurp(path).c_str(), "old\n");
    assert_int_equal(entries(), 1);
}

// The mode is the one asked for, whatever the umask; the umask would turn
// 0644 into 0600 under systemd's UMask=0077.
void test_mode_ignores_umask(void**) {
    clear_dir();
    const std::string path = g_dir + "/ip";
    const mode_t old = ::umask(0077);
    auto st = write_file_atomically(path, "fd00::1\n", 0644);
    ::umask(old);
    assert_true(st.has_value());
    assert_string_equal(slurp(path).c_str(), "fd00::1\n");
    assert_int_equal(mode_of(path), 0644);
    assert_int_equal(entries(), 1);
}

// A reader that opened the old file keeps reading it whole: the new file is
// renamed over it, never truncated and rewritten in place.
void test_reader_keeps_old_file(void**) {
    clear_dir();
    const std::string path = g_dir + "/state";
    std::ofstream(path) << "old contents that are longer\n";
    const int old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    assert_true(old_fd >= 0);
    auto st = write_file_atomically(path, "new\n", 0600);
    char buf[64] = {};
    const ssize_t n = ::pread(old_fd, buf, sizeof buf - 1, 0);
    ::close(old_fd);
    assert_true(st.has_value());
    assert_int_equal(n, 29);
    assert_string_equal(buf, "old contents that are longer\n");
    assert_string_equal(slurp(path).c_str(), "new\n");
}

// Symlinks planted at names a writer might use for its temporary file are
// not followed: the temporary file is mkstemp's (O_EXCL).
void test_planted_symlinks_not_followed(void**) {
    clear_dir();
    const std::string path = g_dir + "/ip";
    const std::string victim = g_dir + "/victim";
    std::ofstream(victim) << "precious\n";
    for (const char* name : {"/ip.tmp", "/.ip.tmp", "/ip.tmp-XXXXXX"}) {
        assert_int_equal(::symlink(victim.c_str(), (g_dir + name).c_str()), 0);
    }
    assert_true(write_file_atomically(path, "fd00::5\n", 0644).has_value());
    assert_string_equal(slurp(victim).c_str(), "precious\n");
    assert_string_equal(slurp(path).c_str(), "fd00::5\n");
    assert_int_equal(mode_of(path), 0644);
    assert_int_equal(entries(), 5); // ip, victim and the three links
}

void test_missing_folder_is_an_error(void**) {
    clear_dir();
    const std::string path = g_dir + "/no/such/file";
    auto staged = StagedFile::stage(path, "x", 0600);
    assert_false(staged.has_value());
    assert_string_equal(
        staged.error().message.c_str(),
        ("cannot create a temporary file for " + path + ": No such file or directory").c_str());
    assert_int_equal(staged.error().sys, ENOENT);
    auto st = write_file_atomically(path, "x", 0600);
    assert_false(st.has_value());
    assert_int_equal(st.error().sys, ENOENT);
    assert_int_equal(entries(), 0);
}

// Renaming onto a folder fails at commit: the error names the step, the
// temporary file is gone and the folder is untouched.
void test_rename_failure_leaves_nothing(void**) {
    clear_dir();
    const std::string path = g_dir + "/sub";
    assert_int_equal(::mkdir(path.c_str(), 0755), 0);
    std::ofstream(path + "/inside") << "x";
    auto st = write_file_atomically(path, "data", 0600);
    assert_false(st.has_value());
    assert_non_null(std::strstr(st.error().message.c_str(), "cannot rename a temporary file onto"));
    assert_true(st.error().sys != 0);
    assert_int_equal(entries(), 1);
    assert_string_equal(slurp(path + "/inside").c_str(), "x");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaces_longer_file),
        cmocka_unit_test(test_uncommitted_writes_nothing),
        cmocka_unit_test(test_mode_ignores_umask),
        cmocka_unit_test(test_reader_keeps_old_file),
        cmocka_unit_test(test_planted_symlinks_not_followed),
        cmocka_unit_test(test_missing_folder_is_an_error),
        cmocka_unit_test(test_rename_failure_leaves_nothing),
    };
    return cmocka_run_group_tests_name("atomic_file", tests, setup, teardown);
}
