// Private key files: the permission rule (pure), and the loader on real
// files with real modes, through TlsContext as enftun uses it.
#include "enftun/tls/key_file.hpp"

#include "enftun/tls/tls_context.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "test_certs.hpp"

#include "test.hpp"

using enftun::Errc;
using enftun::tls::check_key_mode;

namespace {

struct State {
    std::string dir;
    enftun::tls::Credentials creds;
};
std::optional<State> g;

void test_mode_rule(void**) {
    const gid_t own[] = {100, 200};
    assert_null(check_key_mode(S_IFREG | 0600, 5, own));
    assert_null(check_key_mode(S_IFREG | 0400, 5, own));
    // Read-only for one of our groups: a service group sharing the key.
    assert_null(check_key_mode(S_IFREG | 0640, 200, own));
    assert_null(check_key_mode(S_IFREG | 0440, 100, own));
    assert_string_equal(check_key_mode(S_IFREG | 0640, 300, own),
                        "readable by a group this process is not in");
    assert_string_equal(check_key_mode(S_IFREG | 0660, 100, own), "writable by its group");
    assert_string_equal(check_key_mode(S_IFREG | 0620, 100, own), "writable by its group");
    assert_string_equal(check_key_mode(S_IFREG | 0644, 100, own), "accessible by others");
    assert_string_equal(check_key_mode(S_IFREG | 0604, 100, own), "accessible by others");
    assert_string_equal(check_key_mode(S_IFREG | 0602, 100, own), "accessible by others");
    assert_string_equal(check_key_mode(S_IFREG | 0601, 100, own), "accessible by others");
}

enftun::Result<enftun::tls::TlsContext> make_ctx() {
    return enftun::tls::TlsContext::create(enftun::tls::Role::Client, g->creds);
}

void test_loader_applies_the_rule(void**) {
    const char* key = g->creds.key_file.c_str();
    assert_true(make_ctx().has_value()); // 0600, from test_certs
    assert_int_equal(chmod(key, 0644), 0);
    auto ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_int_equal(static_cast<int>(ctx.error().code), static_cast<int>(Errc::Identity));
    assert_string_equal(ctx.error().what, "key file permissions too open");
    assert_int_equal(chmod(key, 0604), 0);
    assert_false(make_ctx().has_value());
    // Group-readable: only for a group of ours, never group-writable.
    assert_int_equal(chown(key, static_cast<uid_t>(-1), getegid()), 0);
    assert_int_equal(chmod(key, 0640), 0);
    assert_true(make_ctx().has_value());
    assert_int_equal(chmod(key, 0660), 0);
    assert_false(make_ctx().has_value());
    assert_int_equal(chmod(key, 0400), 0);
    assert_true(make_ctx().has_value());
}

void test_loader_reports_missing_and_garbage(void**) {
    g->creds.key_file = g->dir + "/missing.key";
    auto ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_int_equal(static_cast<int>(ctx.error().code), static_cast<int>(Errc::System));
    assert_int_equal(ctx.error().sys, ENOENT);
    // A certificate where the key should be: not a key, and no prompt.
    auto loaded = enftun::tls::load_private_key(g->creds.cert_file + "");
    assert_false(loaded.has_value()); // the cert is 0644 too: refused either way
    g->creds.key_file = g->dir + "/garbage.key";
    {
        enftun::tls::BioPtr bio(BIO_new_file(g->creds.key_file.c_str(), "w"));
        BIO_puts(bio.get(), "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
    }
    assert_int_equal(chmod(g->creds.key_file.c_str(), 0600), 0);
    ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_int_equal(static_cast<int>(ctx.error().code), static_cast<int>(enftun::Errc::Tls));
    // A FIFO (or a device) where the key should be: refused at once, where
    // reading it would block until a writer comes.
    g->creds.key_file = g->dir + "/fifo.key";
    assert_int_equal(mkfifo(g->creds.key_file.c_str(), 0600), 0);
    ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_string_equal(ctx.error().what, "key file is not a regular file");
    loaded = enftun::tls::load_private_key("/dev/zero");
    assert_false(loaded.has_value());
    assert_string_equal(loaded.error().what, "key file is not a regular file");
}

// A FIFO as the CA file or the certificate: refused at once, where
// OpenSSL's read of it would wait for a writer, forever.
void test_context_refuses_fifo_ca_and_cert(void**) {
    const std::string fifo = g->dir + "/fifo.pem";
    assert_int_equal(mkfifo(fifo.c_str(), 0600), 0);
    const std::string ca = g->creds.ca_cert_file;
    g->creds.ca_cert_file = fifo;
    auto ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_string_equal(ctx.error().what, "cannot read CA certificate file");
    assert_int_equal(ctx.error().sys, EINVAL);
    g->creds.ca_cert_file = ca;
    g->creds.cert_file = fifo;
    ctx = make_ctx();
    assert_false(ctx.has_value());
    assert_string_equal(ctx.error().what, "cannot read certificate file");
    assert_int_equal(ctx.error().sys, EINVAL);
}

int setup(void**) {
    g.emplace();
    g->dir = test_certs::make_temp_dir();
    auto ca = test_certs::make_ca("enftun test CA");
    test_certs::CertSpec spec;
    spec.cns = {"fd00:e::5"};
    spec.usage = test_certs::Usage::Client;
    g->creds = {g->dir + "/ca.crt", g->dir + "/c.crt", g->dir + "/c.key"};
    bool ok = !g->dir.empty() && ca &&
              test_certs::write_cert_pem(g->creds.ca_cert_file, ca.cert.get()) &&
              test_certs::write_pair(g->dir, "c", test_certs::make_leaf(ca, spec));
    return ok ? 0 : -1;
}

int teardown(void**) {
    return test_certs::remove_dir_and_state(g);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_rule),
        cmocka_unit_test_setup_teardown(test_loader_applies_the_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_reports_missing_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_refuses_fifo_ca_and_cert, setup, teardown),
    };
    return cmocka_run_group_tests_name("key_file", tests, nullptr, nullptr);
}
