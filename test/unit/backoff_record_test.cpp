// Unit tests for conn/backoff_record (the text codec, the resume decision),
// Backoff::resume, and client/backoff_store on real files in a temp folder
// (save, load, clear; a corrupt, oversized or foreign record is ignored).
#include "enftun/client/backoff_store.hpp"
#include "enftun/conn/backoff.hpp"
#include "enftun/conn/backoff_record.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "test.hpp"

using enftun::conn::BackoffRecord;
using enftun::conn::ResumeVerdict;

namespace {

BackoffRecord sample() {
    return {"5a0e3b52-1d2c-4e5f-8a9b-0c1d2e3f4a5b", 123456, "fd00:100::1,router.test 4443",
            "sha256:" + std::string(64, 'a'), 6};
}

constexpr const char* kSampleText =
    "enftun-backoff 2\n"
    "boot_id 5a0e3b52-1d2c-4e5f-8a9b-0c1d2e3f4a5b\n"
    "written_ms 123456\n"
    "remote fd00:100::1,router.test 4443\n"
    "identity sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "attempt 6\n";

// The subject of sample(), and the same with another certificate.
enftun::conn::BackoffSubject sample_subject() {
    return {sample().remote, sample().identity};
}

void test_remote_key_joins_hosts_and_port(void**) {
    assert_string_equal(enftun::conn::remote_key({"fd00:100::1", "router.test"}, 4443).c_str(),
                        "fd00:100::1,router.test 4443");
    assert_string_equal(enftun::conn::remote_key({"a"}, 443).c_str(), "a 443");
}

// remote.hosts has no bound on its length (many long names): the key must
// still fit a record that parses, and still tell host lists apart.
void test_remote_key_of_a_long_host_list_fits_a_record(void**) {
    std::vector<std::string> hosts;
    for (int i = 0; i < 12; ++i) {
        hosts.push_back("router-" + std::to_string(i) + "." + std::string(60, 'a') + ".example");
    }
    const std::string key = enftun::conn::remote_key(hosts, 4443);
    BackoffRecord r = sample();
    r.remote = key;
    auto parsed = enftun::conn::parse_backoff_record(enftun::conn::encode_backoff_record(r));
    assert_true(parsed.has_value());
    assert_string_equal(parsed->remote.c_str(), key.c_str());
    assert_true(key.ends_with(" 4443"));
    auto fewer = hosts;
    fewer.pop_back();
    assert_string_not_equal(enftun::conn::remote_key(fewer, 4443).c_str(), key.c_str());
    hosts.back().back() = 'f';
    assert_string_not_equal(enftun::conn::remote_key(hosts, 4443).c_str(), key.c_str());
    assert_string_not_equal(enftun::conn::remote_key(fewer, 4444).c_str(),
                            enftun::conn::remote_key(fewer, 4443).c_str());
}

void test_identity_key_names_the_digest(void**) {
    const std::string hex(64, 'e');
    assert_string_equal(enftun::conn::identity_key(hex).c_str(), ("sha256:" + hex).c_str());
    assert_string_equal(enftun::conn::identity_key("").c_str(), "none");
}

void test_encode_is_the_documented_format(void**) {
    assert_string_equal(enftun::conn::encode_backoff_record(sample()).c_str(), kSampleText);
}

void test_parse_round_trip(void**) {
    auto r = enftun::conn::parse_backoff_record(kSampleText);
    assert_true(r.has_value());
    assert_string_equal(r->boot_id.c_str(), sample().boot_id.c_str());
    assert_int_equal(r->written_ms, 123456);
    assert_string_equal(r->remote.c_str(), sample().remote.c_str());
    assert_string_equal(r->identity.c_str(), sample().identity.c_str());
    assert_int_equal(r->attempt, 6);
}

// Every way a file can be damaged or foreign: never a record.
void test_parse_rejects_bad_text(void**) {
    const std::string good = kSampleText;
    auto replaced = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    const std::string bad[] = {
        "",
        "garbage",
        good.substr(0, good.size() - 1),                   // no final line break
        replaced("enftun-backoff 2", "enftun-backoff 1"),  // before the identity line
        replaced("enftun-backoff 2", "enftun-backoff 3"),  // another version
        replaced("identity sha256:", "identity sha256: "), // a space in it
        replaced("identity sha256:", "identity\tsha256:"),
        replaced("identity sha256:aaaa", "identitysha256:aaaa"),
        replaced("boot_id ", "bootid "),
        replaced("written_ms 123456", "written_ms -1"),
        replaced("written_ms 123456", "written_ms 12x"),
        replaced("written_ms 123456", "written_ms 99999999999999999999999"),
        replaced("written_ms 123456", "written_ms "),
        replaced("attempt 6", "attempt 65"), // more than kMaxBackoffAttempt
        replaced("attempt 6", "attempt +6"),
        replaced("remote fd00:100::1,router.test 4443", "remote nospace"),
        replaced("router.test", "router\x01test"), // a control character
        replaced("attempt 6\n", ""),               // a line missing
        good + "attempt 7\n",                      // a line too many
        replaced("written_ms 123456\nremote fd00:100::1,router.test 4443",
                 "remote fd00:100::1,router.test 4443\nwritten_ms 123456"), // order
        good.substr(0, good.size() - 1) + "\r\n",                           // CRLF
        std::string(enftun::conn::kMaxBackoffRecordBytes + 1, 'a'),
    };
    for (const auto& text : bad) {
        auto r = enftun::conn::parse_backoff_record(text);
        if (r.has_value()) {
            print_error("accepted: \"%s\"\n", text.c_str());
        }
        assert_false(r.has_value());
        assert_false(r.error().empty());
    }
}

void test_parse_error_names_the_line(void**) {
    std::string t = kSampleText;
    t.replace(t.find("attempt 6"), 9, "attempt x");
    auto r = enftun::conn::parse_backoff_record(t);
    assert_false(r.has_value());
    assert_string_equal(r.error().c_str(), "line 6: bad attempt");
}

void test_max_age_is_twice_the_cap_plus_a_minute(void**) {
    assert_int_equal(enftun::conn::max_record_age_ms(60000), 180000);
    assert_int_equal(enftun::conn::max_record_age_ms(4000), 68000);
}

void test_decide_resume(void**) {
    const BackoffRecord r = sample();
    const std::string boot = r.boot_id;
    const enftun::conn::BackoffSubject remote = sample_subject();
    const std::uint64_t cap = 60000;
    const std::uint64_t max_age = enftun::conn::max_record_age_ms(cap);
    using enftun::conn::decide_resume;
    assert_int_equal(decide_resume(r, boot, r.written_ms + 5000, remote, cap),
                     ResumeVerdict::Resume);
    assert_int_equal(decide_resume(r, boot, r.written_ms, remote, cap), ResumeVerdict::Resume);
    assert_int_equal(decide_resume(r, boot, r.written_ms + max_age, remote, cap),
                     ResumeVerdict::Resume);
    assert_int_equal(decide_resume(r, boot, r.written_ms + max_age + 1, remote, cap),
                     ResumeVerdict::Stale);
    assert_int_equal(decide_resume(r, "another-boot", r.written_ms + 5000, remote, cap),
                     ResumeVerdict::OtherBoot);
    assert_int_equal(decide_resume(r, boot, r.written_ms - 1, remote, cap),
                     ResumeVerdict::FromFuture);
    assert_int_equal(
        decide_resume(r, boot, r.written_ms + 5000, {"fd00:100::1 4443", r.identity}, cap),
        ResumeVerdict::OtherRemote);
    const std::string renewed = "sha256:" + std::string(64, 'b');
    assert_int_equal(decide_resume(r, boot, r.written_ms + 5000, {r.remote, renewed}, cap),
                     ResumeVerdict::OtherIdentity);
    assert_int_equal(decide_resume(r, boot, r.written_ms + 5000, {r.remote, "none"}, cap),
                     ResumeVerdict::OtherIdentity);
    BackoffRecord zero = r;
    zero.attempt = 0;
    assert_int_equal(decide_resume(zero, boot, r.written_ms + 5000, remote, cap),
                     ResumeVerdict::NoBackoff);
}

// Draws the maximum: the delay is the ceiling drawn under.
std::uint64_t draw_max(std::uint64_t bound) {
    return bound;
}

void test_backoff_resume_draws_under_the_recorded_ceiling(void**) {
    enftun::conn::Backoff b({.base_ms = 1000, .cap_ms = 60000}, draw_max);
    b.resume(3);
    assert_int_equal(b.attempt(), 3);
    assert_int_equal(b.current_ceiling(), 8000);
    assert_int_equal(b.next_delay(), 8000);
    assert_int_equal(b.current_ceiling(), 16000);
}

// A record of a larger cap (or a bad one) cannot push past the cap, and the
// attempt it leaves is where the cap is first reached.
void test_backoff_resume_clamps_to_the_cap(void**) {
    enftun::conn::Backoff b({.base_ms = 1000, .cap_ms = 4000}, draw_max);
    b.resume(enftun::conn::kMaxBackoffAttempt);
    assert_int_equal(b.attempt(), 2);
    assert_int_equal(b.next_delay(), 4000);
    assert_int_equal(b.attempt(), 2);
    b.resume(0);
    assert_int_equal(b.current_ceiling(), 1000);
}

// ------------------------------------------------------------ BackoffStore

struct StoreState {
    std::string dir;
    std::string path;
};
std::optional<StoreState> g;

int store_setup(void**) {
    g.emplace();
    const char* base = std::getenv("TMPDIR");
    std::string t = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                    "/backoff_record_test.XXXXXX";
    if (mkdtemp(t.data()) == nullptr) {
        return -1;
    }
    g->dir = t;
    g->path = g->dir + "/enf0.backoff";
    return 0;
}

int store_teardown(void**) {
    ::unlink(g->path.c_str());
    ::rmdir(g->dir.c_str());
    g.reset();
    return 0;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_raw(const std::string& text) {
    std::ofstream out(g->path, std::ios::trunc);
    out << text;
}

void test_store_saves_and_resumes(void**) {
    const enftun::conn::BackoffSubject remote{"fd00:100::1 4443",
                                              enftun::conn::identity_key(std::string(64, 'c'))};
    enftun::tunnel::BackoffStore store(g->path);
    assert_false(store.load(remote, 60000).has_value()); // no file: nothing, quietly
    store.save(remote, 5);
    struct stat st {};
    assert_int_equal(::stat(g->path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    auto r = enftun::conn::parse_backoff_record(read_file(g->path));
    assert_true(r.has_value());
    assert_int_equal(r->attempt, 5);

    // Another run (a new store) of the same config, a moment later.
    enftun::tunnel::BackoffStore next(g->path);
    auto resumed = next.load(remote, 60000);
    assert_true(resumed.has_value());
    assert_int_equal(resumed->attempt, 5);
    assert_true(resumed->age_ms < 60000);

    // Another remote: ignored.
    assert_false(next.load({"fd00:101::1 4443", remote.identity}, 60000).has_value());
    // Another certificate (renewed, or enrolled again): ignored.
    assert_false(next.load({remote.remote, enftun::conn::identity_key(std::string(64, 'd'))}, 60000)
                     .has_value());

    next.clear();
    assert_int_equal(::access(g->path.c_str(), F_OK), -1);
    next.clear(); // none: no error
}

void test_store_ignores_corrupt_and_foreign_records(void**) {
    const enftun::conn::BackoffSubject remote = sample_subject();
    enftun::tunnel::BackoffStore store(g->path);
    write_raw("enftun-backoff 2\nthis is not a record\n");
    assert_false(store.load(remote, 60000).has_value());
    write_raw(std::string(5000, 'x'));
    assert_false(store.load(remote, 60000).has_value());
    write_raw(kSampleText); // another boot id
    assert_false(store.load(remote, 60000).has_value());
    ::unlink(g->path.c_str());
    assert_int_equal(::mkdir(g->path.c_str(), 0700), 0); // not a regular file
    assert_false(store.load(remote, 60000).has_value());
    assert_int_equal(::rmdir(g->path.c_str()), 0);
}

void test_store_save_into_a_missing_folder_is_no_crash(void**) {
    enftun::tunnel::BackoffStore store(g->dir + "/missing/enf0.backoff");
    const enftun::conn::BackoffSubject subject{"h 1", "none"};
    store.save(subject, 3);
    store.save(subject, 4); // warned once, then quiet
    assert_false(store.load(subject, 60000).has_value());
    store.clear();
}

} // namespace

int main() {
    const struct CMUnitTest codec[] = {
        cmocka_unit_test(test_remote_key_joins_hosts_and_port),
        cmocka_unit_test(test_remote_key_of_a_long_host_list_fits_a_record),
        cmocka_unit_test(test_identity_key_names_the_digest),
        cmocka_unit_test(test_encode_is_the_documented_format),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_rejects_bad_text),
        cmocka_unit_test(test_parse_error_names_the_line),
        cmocka_unit_test(test_max_age_is_twice_the_cap_plus_a_minute),
        cmocka_unit_test(test_decide_resume),
        cmocka_unit_test(test_backoff_resume_draws_under_the_recorded_ceiling),
        cmocka_unit_test(test_backoff_resume_clamps_to_the_cap),
    };
    const struct CMUnitTest store[] = {
        cmocka_unit_test_setup_teardown(test_store_saves_and_resumes, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_store_ignores_corrupt_and_foreign_records, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_store_save_into_a_missing_folder_is_no_crash,
                                        store_setup, store_teardown),
    };
    int failed = cmocka_run_group_tests_name("backoff_record", codec, nullptr, nullptr);
    failed += cmocka_run_group_tests_name("backoff_store", store, nullptr, nullptr);
    return failed;
}
