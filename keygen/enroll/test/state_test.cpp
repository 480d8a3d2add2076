// The state file (round trip, corrupt files, atomic save), password hashing
// and the users file, and the failed-login limiter and token store.
#include "common/atomic_file.hpp"
#include "common/ipv4.hpp"
#include "enroll/login_limiter.hpp"
#include "enroll/password.hpp"
#include "enroll/state.hpp"
#include "enroll/tokens.hpp"

#include "test.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

using namespace enftun::enroll;
using enftun::proto::Ipv6Addr;

namespace {

struct TempDir {
    std::string path;
};

int setup(void** state) {
    char tmpl[] = "/tmp/enroll-state-test.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    *state = new TempDir{tmpl};
    return 0;
}

int teardown(void** state) {
    auto* dir = static_cast<TempDir*>(*state);
    const std::string cmd = "rm -rf '" + dir->path + "'";
    const int rc = std::system(cmd.c_str());
    delete dir;
    return rc == 0 ? 0 : -1;
}

const std::string& dir_of(void** state) {
    return static_cast<TempDir*>(*state)->path;
}

State sample() {
    State s;
    s.entries.push_back({*Ipv6Addr::parse("fd00:e::5"),
                         "ops@example",
                         "3F0A19",
                         1796480000,
                         false,
                         std::nullopt,
                         {},
                         {}});
    s.entries.push_back({*Ipv6Addr::parse("fd00:e::6"),
                         "ops@example",
                         "AB",
                         1796480001,
                         true,
                         std::nullopt,
                         {},
                         {}});
    s.entries.push_back({*Ipv6Addr::parse("fd00:e::5"),
                         "ops@example",
                         "1234",
                         1796480002,
                         false,
                         std::nullopt,
                         {},
                         {}});
    return s;
}

void test_state_round_trip(void** state) {
    const std::string path = dir_of(state) + "/enrolled";
    const State s = sample();
    assert_true(save_state(path, s).has_value());
    auto loaded = load_state(path);
    assert_true(loaded.has_value());
    assert_true(loaded->entries == s.entries);
    struct stat st {};
    assert_int_equal(::stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(loaded->holds(*Ipv6Addr::parse("fd00:e::6")));
    assert_false(loaded->holds(*Ipv6Addr::parse("fd00:e::7")));
    assert_non_null(loaded->by_serial("AB"));
    assert_true(loaded->by_serial("AB")->revoked);
}

// With IPv4 on some lines: those get a sixth field, the others keep five,
// and a file written before IPv4 (five fields, the old header) still loads.
void test_state_round_trip_with_ipv4(void** state) {
    const std::string path = dir_of(state) + "/enrolled";
    State s = sample();
    s.entries[0].ipv4 = *enftun::keygen::parse_ipv4_addr("198.18.0.1");
    s.entries[2].ipv4 = s.entries[0].ipv4;
    assert_true(save_state(path, s).has_value());
    auto text = enftun::keygen::read_file(path, 4096);
    assert_true(text.has_value());
    assert_non_null(std::strstr(text->c_str(),
                                "\nfd00:e::5 ops@example 3F0A19 1796480000 0 "
                                "198.18.0.1\nfd00:e::6 ops@example AB 1796480001 1\n"));
    auto loaded = load_state(path);
    assert_true(loaded.has_value());
    assert_true(loaded->entries == s.entries);
    assert_true(loaded->ipv4_addresses() ==
                std::set<enftun::proto::Ipv4Addr>{*enftun::keygen::parse_ipv4_addr("198.18.0.1")});

    const char* old = "# enftun-enroll state v1: ADDRESS USER SERIAL NOT_AFTER REVOKED\n"
                      "fd00:e::5 ops@example 3F0A19 1796480000 0\n";
    auto before_ipv4 = parse_state(old, "old");
    assert_true(before_ipv4.has_value());
    assert_int_equal(before_ipv4->entries.size(), 1);
    assert_false(before_ipv4->entries[0].ipv4.has_value());
}

// A renewal's line ends with from=SERIAL key=SHA256, after the IPv4
// address when there is one; newest_of() is an address's last line.
void test_state_round_trip_with_renewals(void** state) {
    const std::string path = dir_of(state) + "/enrolled";
    State s = sample();
    const std::string key(64, 'a');
    s.entries[2].renewed_from = "3F0A19";
    s.entries[2].key_sha256 = key;
    s.entries[2].ipv4 = *enftun::keygen::parse_ipv4_addr("198.18.0.1");
    assert_true(save_state(path, s).has_value());
    auto text = enftun::keygen::read_file(path, 4096);
    assert_non_null(std::strstr(text->c_str(), ("\nfd00:e::5 ops@example 1234 1796480002 0 "
                                                "198.18.0.1 from=3F0A19 key=" +
                                                key + "\n")
                                                   .c_str()));
    auto loaded = load_state(path);
    assert_true(loaded.has_value());
    assert_true(loaded->entries == s.entries);
    assert_string_equal(loaded->newest_of(*Ipv6Addr::parse("fd00:e::5"))->serial.c_str(), "1234");
    assert_null(loaded->newest_of(*Ipv6Addr::parse("fd00:e::7")));
    s.entries[2].ipv4.reset();
    assert_true(save_state(path, s).has_value());
    loaded = load_state(path);
    assert_true(loaded.has_value() && loaded->entries == s.entries);
}

void test_missing_state_is_empty(void** state) {
    auto loaded = load_state(dir_of(state) + "/none");
    assert_true(loaded.has_value());
    assert_int_equal(loaded->entries.size(), 0);
}

void test_corrupt_state_is_an_error(void**) {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"fd00:e::5 ops 0A 1 0", "f:1: last line is not terminated"},
        {"fd00:e::5 ops 0A 1 0\nfd00:e::6 ops", "f:2: last line is not terminated"},
        {"fd00:e::5 ops 0A 1\n", "f:1: expected 5 or 6 fields"},
        {"fd00:e::5 ops 0A 1 0 198.18.0.1 x\n", "f:1: expected 5 or 6 fields"},
        {"fd00:e::5 ops 0A 1 0 198.18.0\n", "f:1: IPV4 must be a routable unicast IPv4"},
        {"fd00:e::5 ops 0A 1 0 127.0.0.1\n", "f:1: IPV4 must be a routable unicast IPv4"},
        {"# c\nfd00:e::zz ops 0A 1 0\n", "f:2: not an IPv6 address: fd00:e::zz"},
        {"fd00:e::5 o:ps 0A 1 0\n", "f:1: not a valid user name"},
        {"fd00:e::5 ops 0a 1 0\n", "f:1: serial must be upper-case hex"},
        {"fd00:e::5 ops 0A x 0\n", "f:1: NOT_AFTER must be a number"},
        {"fd00:e::5 ops 0A 1 2\n", "f:1: REVOKED must be 0 or 1"},
        {"fd00:e::5 ops 0A 1 0 "
         "key=9b1f0000000000000000000000000000000000000000000000000000000000e4\n",
         "f:1: key= must follow from=SERIAL"},
        {"fd00:e::5 ops 0A 1 0 from=0a "
         "key=9b1f0000000000000000000000000000000000000000000000000000000000e4\n",
         "f:1: from= must be an upper-case hex"},
        {"fd00:e::5 ops 0A 1 0 from=0A key=9B1F\n", "f:1: key= must be 64 lower-case hex"},
        {"fd00:e::5 ops 0A 1 0 "
         "key=9b1f0000000000000000000000000000000000000000000000000000000000e4 from=0A\n",
         "f:1: expected 5 or 6 fields"},
    };
    for (const auto& c : cases) {
        auto r = parse_state(c.text, "f");
        assert_false(r.has_value());
        if (r.error().message.find(c.message) != 0) {
            print_error("got '%s', want '%s'\n", r.error().message.c_str(), c.message);
            fail();
        }
    }
}

void test_revoke_marks_every_certificate_of_the_address(void**) {
    State s = sample();
    assert_int_equal(s.revoke(*Ipv6Addr::parse("fd00:e::5")), 2);
    assert_int_equal(s.revoke(*Ipv6Addr::parse("fd00:e::5")), 0);
    const auto serials = s.revoked_serials(0);
    assert_int_equal(serials.size(), 3);
}

// By IPv4: every certificate carrying that address, whatever its IPv6
// address; holds() knows the IPv4 addresses with a line.
void test_revoke_by_ipv4_marks_its_certificates(void**) {
    State s = sample();
    const auto v4 = *enftun::keygen::parse_ipv4_addr("198.18.0.1");
    s.entries[0].ipv4 = v4;
    s.entries[2].ipv4 = v4;
    assert_true(s.holds(v4));
    assert_false(s.holds(*enftun::keygen::parse_ipv4_addr("198.18.0.2")));
    assert_int_equal(s.revoke(v4), 2);
    assert_int_equal(s.revoke(v4), 0);
    assert_true(s.entries[0].revoked && s.entries[2].revoked);
    assert_int_equal(s.revoked_serials(0).size(), 3);
    // A line without IPv4 is never matched by one.
    State plain = sample();
    assert_int_equal(plain.revoke(v4), 0);
}

void test_lock_is_exclusive_across_open_files(void** state) {
    const std::string path = dir_of(state) + "/enrolled";
    auto first = StateLock::acquire(path);
    assert_true(first.has_value());
    // Another process (or open file description) must not get it now.
    const pid_t child = fork();
    if (child == 0) {
        const int fd = ::open((path + ".lock").c_str(), O_RDWR);
        _exit(::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : 0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void test_password_hash_and_verify(void**) {
    ScryptParams fast;
    fast.log2_n = 10; // keep the test quick; the format carries the cost
    auto hash = hash_password("correct horse", fast);
    assert_true(hash.has_value());
    assert_true(hash->rfind("scrypt$10$8$1$", 0) == 0);
    assert_true(verify_password("correct horse", *hash));
    assert_false(verify_password("correct horsE", *hash));
    assert_false(verify_password("", *hash));
    auto again = hash_password("correct horse", fast);
    assert_true(*again != *hash); // salted
}

void test_password_rejects_malformed_and_costly(void**) {
    ScryptParams fast;
    fast.log2_n = 10;
    const std::string good = hash_password("pw", fast).value();
    assert_false(verify_password("pw", "plain"));
    assert_false(verify_password("pw", "scrypt$10$8$1$zz$00"));
    assert_false(verify_password("pw", good.substr(0, good.size() - 2)));
    std::string costly = good;
    costly.replace(7, 2, "30"); // N = 2^30: refused without running
    assert_false(verify_password("pw", costly));
}

void test_users_file_round_trip(void** state) {
    const std::string path = dir_of(state) + "/users";
    Users users{{"ops@example", "scrypt$10$8$1$00$11"}, {"b", "scrypt$10$8$1$22$33"}};
    assert_true(save_users(path, users).has_value());
    auto loaded = load_users(path);
    assert_true(loaded.has_value());
    assert_true(*loaded == users);
    std::ofstream(path, std::ios::app) << "bad line\n";
    auto bad = load_users(path);
    assert_false(bad.has_value());
    assert_true(bad.error().message.find(path + ":4: ") == 0);
}

void test_login_limiter_per_source(void**) {
    LoginLimiter limiter;
    const auto t0 = LoginLimiter::Clock::now();
    for (unsigned i = 0; i < LoginLimiter::kMaxFailures; ++i) {
        assert_true(limiter.allowed("192.0.2.1", t0));
        limiter.record_failure("192.0.2.1", t0);
    }
    assert_false(limiter.allowed("192.0.2.1", t0));
    assert_true(limiter.allowed("192.0.2.2", t0));
    assert_true(limiter.allowed("192.0.2.1", t0 + LoginLimiter::kWindow));
    // IPv6 sources count per /64.
    for (unsigned i = 0; i < LoginLimiter::kMaxFailures; ++i) {
        limiter.record_failure("fd00:1::" + std::to_string(i + 1), t0);
    }
    assert_false(limiter.allowed("fd00:1::99", t0));
    assert_true(limiter.allowed("fd00:1:0:1::1", t0));
    assert_string_equal(LoginLimiter::source_key("::ffff:192.0.2.1").c_str(), "::ffff:192.0.2.1");
}

void test_tokens_expire(void**) {
    TokenStore tokens;
    const auto t0 = TokenStore::Clock::now();
    const std::string t = tokens.issue("ops", t0);
    assert_int_equal(t.size(), 64);
    assert_string_equal(tokens.user_of(t, t0)->c_str(), "ops");
    assert_false(tokens.user_of("x" + t.substr(1), t0).has_value());
    assert_false(tokens.user_of(t, t0 + TokenStore::kTokenLifetime).has_value());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_round_trip_with_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_round_trip_with_renewals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_state_is_empty, setup, teardown),
        cmocka_unit_test(test_corrupt_state_is_an_error),
        cmocka_unit_test(test_revoke_marks_every_certificate_of_the_address),
        cmocka_unit_test(test_revoke_by_ipv4_marks_its_certificates),
        cmocka_unit_test_setup_teardown(test_lock_is_exclusive_across_open_files, setup, teardown),
        cmocka_unit_test(test_password_hash_and_verify),
        cmocka_unit_test(test_password_rejects_malformed_and_costly),
        cmocka_unit_test_setup_teardown(test_users_file_round_trip, setup, teardown),
        cmocka_unit_test(test_login_limiter_per_source),
        cmocka_unit_test(test_tokens_expire),
    };
    return cmocka_run_group_tests_name("enroll_state", tests, nullptr, nullptr);
}
