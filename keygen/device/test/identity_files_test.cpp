// Writing the device's identity: key 0600 and certificate 0644; a CA file
// keeps its mode; a failure on any file writes none of them (every file is
// staged before the first rename).
#include "identity_files.hpp"

#include "test.hpp"
#include "test_certs.hpp"

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

using enftun::keygen::IdentityWrite;
using enftun::keygen::SecretPem;
using enftun::keygen::write_identity;

namespace {

std::string g_dir;
SecretPem* g_key = nullptr;

int setup(void**) {
    g_dir = test_certs::make_temp_dir();
    g_key = new SecretPem("-----BEGIN PRIVATE KEY-----\nnew\n-----END PRIVATE KEY-----\n");
    return g_dir.empty() ? -1 : 0;
}

int teardown(void**) {
    delete g_key;
    test_certs::remove_temp_dir(g_dir);
    return 0;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

IdentityWrite identity(const std::string& cert_dir) {
    IdentityWrite w;
    w.key_file = g_dir + "/enf0.key";
    w.key = g_key;
    w.cert_file = cert_dir + "/enf0.pem";
    w.cert_pem = "cert\n";
    return w;
}

void test_writes_key_and_cert_with_their_modes(void**) {
    auto st = write_identity(identity(g_dir), std::nullopt);
    assert_true(st.has_value());
    assert_int_equal(mode_of(g_dir + "/enf0.key"), 0600);
    assert_int_equal(mode_of(g_dir + "/enf0.pem"), 0644);
    assert_string_equal(slurp(g_dir + "/enf0.pem").c_str(), "cert\n");
}

void test_ca_file_keeps_its_mode(void**) {
    const std::string ca = g_dir + "/ca.pem";
    std::ofstream(ca) << "old ca, longer than the new one\n";
    ::chmod(ca.c_str(), 0640);
    IdentityWrite w = identity(g_dir);
    w.ca_file = ca;
    w.ca_pem = "new ca\n";
    assert_true(write_identity(w, std::nullopt).has_value());
    assert_string_equal(slurp(ca).c_str(), "new ca\n");
    assert_int_equal(mode_of(ca), 0640);
}

void test_a_failure_writes_nothing(void**) {
    std::ofstream(g_dir + "/enf0.key") << "old key\n";
    // The certificate's folder does not exist: staging it fails after the
    // key was staged, and the key must stay the old one.
    auto st = write_identity(identity(g_dir + "/missing"), std::nullopt);
    assert_false(st.has_value());
    assert_non_null(std::strstr(st.error().message.c_str(), "/missing/enf0.pem"));
    assert_string_equal(slurp(g_dir + "/enf0.key").c_str(), "old key\n");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_key_and_cert_with_their_modes),
        cmocka_unit_test(test_ca_file_keeps_its_mode),
        cmocka_unit_test(test_a_failure_writes_nothing),
    };
    return cmocka_run_group_tests_name("keygen_identity_files", tests, setup, teardown);
}
