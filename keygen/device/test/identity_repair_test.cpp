// Completing a replacement of the key and certificate that a crash
// interrupted (identity_repair.hpp): each state a crash can leave is laid
// out as write_identity leaves it, with real keys and certificates, and
// repair_identity must end with a matching pair (the new one where the new
// certificate was staged) and no pending certificate; a pending key alone
// (a renewal in flight) and a stale pending certificate are told apart.
#include "identity_files.hpp"
#include "identity_repair.hpp"

#include "test.hpp"
#include "test_certs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

using enftun::keygen::KeySource;
using enftun::keygen::repair_identity;

namespace {

struct Fixture {
    std::string dir;
    test_certs::KeyCert ca;
    test_certs::KeyCert old_pair;
    test_certs::KeyCert new_pair;
    std::optional<KeySource> keys;
    std::string key;
    std::string cert;
};

Fixture* g = nullptr;

int setup(void**) {
    g = new Fixture;
    g->dir = test_certs::make_temp_dir();
    g->ca = test_certs::make_ca("test-ca");
    test_certs::CertSpec spec;
    spec.cns = {"fd00:e::5"};
    g->old_pair = test_certs::make_leaf(g->ca, spec);
    g->new_pair = test_certs::make_leaf(g->ca, spec);
    g->keys.emplace(KeySource::create(false, enftun::config::IdentityConfig{}).value());
    g->key = g->dir + "/enf0.key";
    g->cert = g->dir + "/enf0.pem";
    return g->dir.empty() ? -1 : 0;
}

int teardown(void**) {
    test_certs::remove_temp_dir(g->dir);
    delete g;
    return 0;
}

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

// Lays out KEY and CERT (the old pair), and what else the crash left.
void lay_out(bool key_pending, bool cert_pending, bool key_renamed) {
    const auto& key_now = key_renamed ? g->new_pair : g->old_pair;
    for (const auto* f : {&g->key, &g->cert}) {
        for (const std::string& path : {*f, *f + ".pending"}) {
            ::unlink(path.c_str());
        }
    }
    assert_true(test_certs::write_key_pem(g->key, key_now.key.get()));
    assert_true(test_certs::write_cert_pem(g->cert, g->old_pair.cert.get()));
    if (key_pending) {
        assert_true(test_certs::write_key_pem(g->key + ".pending", g->new_pair.key.get()));
    }
    if (cert_pending) {
        assert_true(test_certs::write_cert_pem(g->cert + ".pending", g->new_pair.cert.get()));
    }
}

// KEY and CERT are kc's.
bool in_place(const test_certs::KeyCert& kc) {
    auto key = enftun::keygen::load_key_file(g->key);
    auto cert = enftun::keygen::load_cert_file(g->cert);
    return key && cert && EVP_PKEY_eq(key->get(), kc.key.get()) == 1 &&
           X509_cmp(cert->get(), kc.cert.get()) == 0;
}

std::string repair() {
    auto r = repair_identity(g->key, g->cert, *g->keys);
    assert_true(r.has_value());
    return r->done;
}

// Nothing pending: nothing to do, nothing said.
void test_whole_pair_is_left_alone(void**) {
    lay_out(false, false, false);
    assert_string_equal(repair().c_str(), "");
    assert_true(in_place(g->old_pair));
}

// A renewal in flight (its key written before the request): kept as it
// is for the renewal's retry.
void test_pending_key_alone_is_kept(void**) {
    lay_out(true, false, false);
    assert_string_equal(repair().c_str(), "");
    assert_true(in_place(g->old_pair));
    assert_true(exists(g->key + ".pending"));
}

// A crash after both were staged, before the key's rename: rolled forward.
void test_staged_pair_is_completed(void**) {
    lay_out(true, true, false);
    assert_non_null(strstr(repair().c_str(), "completed the replacement"));
    assert_true(in_place(g->new_pair));
    assert_false(exists(g->key + ".pending"));
    assert_false(exists(g->cert + ".pending"));
}

// A crash between the renames: the key is new, the certificate old (they
// do not match); the staged certificate completes the pair.
void test_key_renamed_pair_is_completed(void**) {
    lay_out(false, true, true);
    assert_false(in_place(g->old_pair));
    assert_false(in_place(g->new_pair));
    const std::string done = repair();
    assert_non_null(strstr(done.c_str(), "the key replaced, not the certificate"));
    assert_true(in_place(g->new_pair));
    assert_false(exists(g->cert + ".pending"));
    assert_string_equal(repair().c_str(), ""); // once only
}

// A pending certificate for no key in sight (not write_identity's order):
// removed, the pair in place untouched.
void test_stale_pending_cert_is_removed(void**) {
    lay_out(false, true, false);
    assert_non_null(strstr(repair().c_str(), "removed"));
    assert_true(in_place(g->old_pair));
    assert_false(exists(g->cert + ".pending"));
}

// A key that does not load: an error, and nothing changed.
void test_unreadable_key_changes_nothing(void**) {
    lay_out(true, true, false);
    FILE* f = fopen((g->key + ".pending").c_str(), "w");
    fputs("not a key\n", f);
    fclose(f);
    auto r = repair_identity(g->key, g->cert, *g->keys);
    assert_false(r.has_value());
    assert_non_null(strstr(r.error().message.c_str(), "cannot complete"));
    assert_true(in_place(g->old_pair));
    assert_true(exists(g->cert + ".pending"));
}

// write_identity itself leaves no pending file behind, and the new pair.
void test_write_identity_commits_the_pair(void**) {
    lay_out(false, false, false);
    enftun::tls::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), g->new_pair.key.get(), nullptr, nullptr, 0, nullptr,
                             nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    enftun::keygen::SecretPem key(std::string(data, static_cast<std::size_t>(n)));
    enftun::keygen::IdentityWrite w;
    w.key_file = g->key;
    w.key = &key;
    w.cert_file = g->cert;
    w.cert_pem = enftun::keygen::cert_to_pem(g->new_pair.cert.get());
    assert_true(enftun::keygen::write_identity(w, std::nullopt).has_value());
    assert_true(in_place(g->new_pair));
    assert_false(exists(g->key + ".pending"));
    assert_false(exists(g->cert + ".pending"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_pair_is_left_alone),
        cmocka_unit_test(test_pending_key_alone_is_kept),
        cmocka_unit_test(test_staged_pair_is_completed),
        cmocka_unit_test(test_key_renamed_pair_is_completed),
        cmocka_unit_test(test_stale_pending_cert_is_removed),
        cmocka_unit_test(test_unreadable_key_changes_nothing),
        cmocka_unit_test(test_write_identity_commits_the_pair),
    };
    return cmocka_run_group_tests_name("keygen_identity_repair", tests, setup, teardown);
}
