// Identity files: a longer old file is wholly replaced with the new mode;
// a staged but uncommitted file leaves the old one and no temporary file.
#include "staged_file.hpp"

#include "test.hpp"
#include "test_certs.hpp"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using enftun::keygen::FileOwner;
using enftun::keygen::StagedFile;

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

void test_replaces_longer_file(void**) {
    const std::string path = g_dir + "/key.pem";
    std::ofstream(path) << std::string(5000, 'x');
    ::chmod(path.c_str(), 0644);
    auto staged = StagedFile::stage(path, "short\n", 0600, std::nullopt);
    assert_true(staged.has_value());
    assert_string_equal(slurp(path).c_str(), std::string(5000, 'x').c_str()); // not yet
    assert_int_equal(entries(), 2);
    assert_true(staged->commit().has_value());
    assert_string_equal(slurp(path).c_str(), "short\n");
    struct stat st {};
    assert_int_equal(::stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(entries(), 1);
}

void test_uncommitted_writes_nothing(void**) {
    const std::string path = g_dir + "/cert.pem";
    std::ofstream(path) << "old\n";
    {
        auto staged = StagedFile::stage(path, "new\n", 0644, std::nullopt);
        assert_true(staged.has_value());
    }
    assert_string_equal(slurp(path).c_str(), "old\n");
    assert_int_equal(entries(), 2); // cert.pem and key.pem from the test before
}

void test_reports_missing_folder(void**) {
    auto staged = StagedFile::stage(g_dir + "/no/such/file", "x", 0600, std::nullopt);
    assert_false(staged.has_value());
    assert_non_null(std::strstr(staged.error().message.c_str(), "cannot create a temporary file"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replaces_longer_file),
        cmocka_unit_test(test_uncommitted_writes_nothing),
        cmocka_unit_test(test_reports_missing_folder),
    };
    return cmocka_run_group_tests_name("keygen_atomic_file", tests, setup, teardown);
}
