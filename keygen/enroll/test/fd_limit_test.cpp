// ensure_fd_limit: raises a low soft RLIMIT_NOFILE to what is needed, never
// lowers it, and refuses (naming both numbers and the reason) when the hard
// limit is too low. Changes this test process's own limits.
#include "enroll/fd_limit.hpp"

#include "test.hpp"

#include <sys/resource.h>

#include <string>

using enftun::enroll::ensure_fd_limit;

namespace {

rlim_t soft_limit() {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return lim.rlim_cur;
}

void test_raises_soft_limit_never_lowers(void**) {
    rlimit lim{};
    assert_int_equal(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 300) {
        skip();
    }
    lim.rlim_cur = 100;
    assert_int_equal(::setrlimit(RLIMIT_NOFILE, &lim), 0);
    assert_true(ensure_fd_limit(250, "test").has_value());
    assert_int_equal(soft_limit(), 250);
    assert_true(ensure_fd_limit(120, "test").has_value());
    assert_int_equal(soft_limit(), 250);
}

// Last: lowers the hard limit, which this process cannot undo.
void test_refuses_above_hard_limit(void**) {
    rlimit lim{100, 100};
    assert_int_equal(::setrlimit(RLIMIT_NOFILE, &lim), 0);
    auto r = ensure_fd_limit(200, "2 listeners");
    assert_false(r.has_value());
    const std::string want = "2 listeners need 200 file descriptors, but RLIMIT_NOFILE allows 100";
    if (r.error().message.rfind(want, 0) != 0) {
        print_error("got '%s'\n", r.error().message.c_str());
        fail();
    }
    assert_int_equal(soft_limit(), 100);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_raises_soft_limit_never_lowers),
        cmocka_unit_test(test_refuses_above_hard_limit),
    };
    return cmocka_run_group_tests_name("fd_limit", tests, nullptr, nullptr);
}
