// Unit tests for routercard/server_duid: the DUID text format, DUID-UUID
// generation, and the file store (create, reuse, repair, and fall back to
// a fresh DUID when the file cannot be used) in a temp directory.
#include "test.hpp"

#include <cerrno>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "enftun/routercard/server_duid.hpp"

using namespace enftun::tunnel;

namespace {

using Duid = std::vector<std::uint8_t>;

std::string g_dir;

int setup(void**) {
    char tmpl[] = "/tmp/enftun-duid-test.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    g_dir = tmpl;
    return 0;
}

int teardown(void**) {
    const std::string cmd = "rm -rf -- '" + g_dir + "'";
    return std::system(cmd.c_str()) == 0 ? 0 : -1;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

void test_parse_and_format(void**) {
    const Duid want = {0x00, 0x03, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x0a};
    assert_true(parse_duid_text("000300010200000000 0a") == std::nullopt); // space inside
    assert_true(parse_duid_text("00030001020000000000a") == std::nullopt); // odd digits
    assert_true(*parse_duid_text("0003000102000000000a") == want);
    assert_true(*parse_duid_text("  0003000102000000000a\n") == want);
    assert_true(*parse_duid_text("00:03:00:01:02:00:00:00:00:0A") == want);
    assert_string_equal(format_duid_text(want).c_str(), "0003000102000000000a");
    assert_false(parse_duid_text("").has_value());
    assert_false(parse_duid_text("0004").has_value());     // 2 bytes: type only
    assert_false(parse_duid_text("00040g").has_value());   // not hex
    assert_false(parse_duid_text("0:004:01").has_value()); // ':' inside a byte
    assert_true(parse_duid_text(std::string(2 * 130, 'a')).has_value());
    assert_false(parse_duid_text(std::string(2 * 131, 'a')).has_value());
}

// RFC 6355 DUID-UUID holding an RFC 9562 version-4 UUID.
void test_random_duid(void**) {
    const Duid a = make_random_duid();
    const Duid b = make_random_duid();
    assert_int_equal(a.size(), 18);
    assert_int_equal(a[0], 0x00);
    assert_int_equal(a[1], 0x04);
    assert_int_equal(a[2 + 6] >> 4, 4); // version
    assert_int_equal(a[2 + 8] >> 6, 2); // variant 10
    assert_false(a == b);
}

void test_created_once_then_reused(void**) {
    const std::string path = g_dir + "/duid";
    const mode_t old = umask(0); // the file must be 0600 whatever the umask
    const Duid first = load_or_create_server_duid(path);
    umask(old);
    struct stat st {};
    assert_int_equal(stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(read_file(path).c_str(), (format_duid_text(first) + "\n").c_str());
    assert_true(load_or_create_server_duid(path) == first);
    // No temp file is left behind.
    assert_int_equal(std::system(("test $(ls -A '" + g_dir + "' | wc -l) -eq 1").c_str()), 0);
}

// A DUID written by hand (here a DUID-LL) is used as it is.
void test_hand_written_duid_used(void**) {
    const std::string path = g_dir + "/duid";
    write_file(path, "00:03:00:01:02:00:00:00:00:0a\n");
    const Duid want = {0x00, 0x03, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x0a};
    assert_true(load_or_create_server_duid(path) == want);
}

// A file that holds no DUID is replaced by a fresh, stored one.
void test_garbage_replaced(void**) {
    const std::string path = g_dir + "/duid";
    write_file(path, "not a duid\n");
    const Duid d = load_or_create_server_duid(path);
    assert_int_equal(d.size(), 18);
    assert_true(load_or_create_server_duid(path) == d);
    write_file(path, std::string(5000, '0')); // too long for a DUID file
    const Duid d2 = load_or_create_server_duid(path);
    assert_int_equal(d2.size(), 18);
    assert_true(load_or_create_server_duid(path) == d2);
}

// Neither readable nor writable: a fresh DUID every time, no failure.
void test_unusable_path_gives_fresh_duid(void**) {
    const std::string missing_dir = g_dir + "/no/such/dir/duid";
    const Duid a = load_or_create_server_duid(missing_dir);
    const Duid b = load_or_create_server_duid(missing_dir);
    assert_int_equal(a.size(), 18);
    assert_false(a == b);
    // A directory where the file should be: reading and renaming both fail.
    const std::string dir_path = g_dir + "/isdir";
    assert_int_equal(mkdir(dir_path.c_str(), 0700), 0);
    const Duid c = load_or_create_server_duid(dir_path);
    assert_int_equal(c.size(), 18);
    struct stat st {};
    assert_int_equal(stat(dir_path.c_str(), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    rmdir(dir_path.c_str());
}

void test_store_errors(void**) {
    const Duid d = make_random_duid();
    auto st = store_duid(g_dir + "/missing/duid", d);
    assert_false(st.has_value());
    assert_int_equal(st.error().sys, ENOENT);
    assert_true(store_duid(g_dir + "/ok", d).has_value());
    assert_true(*parse_duid_text(read_file(g_dir + "/ok")) == d);
    unlink((g_dir + "/ok").c_str());
}

// identity.duid_file is the operator's path: a symlink to persistent
// storage is followed (the DUID, and the leases that name it, stay).
void test_symlinked_duid_followed(void**) {
    const Duid want = {0x00, 0x03, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x0a};
    write_file(g_dir + "/real", "0003000102000000000a\n");
    assert_int_equal(symlink((g_dir + "/real").c_str(), (g_dir + "/link").c_str()), 0);
    assert_true(load_or_create_server_duid(g_dir + "/link") == want);
    unlink((g_dir + "/link").c_str());
    unlink((g_dir + "/real").c_str());
}

// A DUID file another user put in the folder (a shared one, /tmp) before
// the daemon first wrote it is not taken for ours: a fresh DUID instead.
void test_duid_of_another_user_ignored(void**) {
    if (geteuid() != 0) {
        skip(); // only root can give a file away
    }
    const std::string path = g_dir + "/duid";
    const Duid planted = {0x00, 0x03, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x0a};
    write_file(path, "0003000102000000000a\n");
    assert_true(load_or_create_server_duid(path) == planted); // root's: used
    assert_int_equal(chown(path.c_str(), 65534, 65534), 0);
    const Duid d = load_or_create_server_duid(path);
    assert_int_equal(d.size(), 18);
    assert_false(d == planted);
    // Replaced by ours (the folder is ours), and used from then on.
    struct stat st {};
    assert_int_equal(stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_true(load_or_create_server_duid(path) == d);
    unlink(path.c_str());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_random_duid),
        cmocka_unit_test_setup_teardown(test_created_once_then_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_written_duid_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_path_gives_fresh_duid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_duid_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duid_of_another_user_ignored, setup, teardown),
    };
    return cmocka_run_group_tests_name("server_duid", tests, nullptr, nullptr);
}
