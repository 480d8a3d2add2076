// Unit tests for service/ (notifier, watchdog, status_throttle): what the
// daemons send to systemd, read from a real Unix datagram socket that
// NOTIFY_SOCKET points at, as the service manager would. Without
// NOTIFY_SOCKET nothing is sent; READY=1 once (again only after a reload
// that came while ready); STATUS= one line, a repeat not resent; WATCHDOG=1
// on a real loop timer at half of WATCHDOG_USEC, none without it; the
// throttle sends the first change at once and the last one of a burst
// after the interval. A real libuv loop under a watchdog (loop_helpers.hpp).
#include "enftun/service/notifier.hpp"
#include "enftun/service/status_throttle.hpp"
#include "enftun/service/watchdog.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::loop::Loop;
using enftun::loop::Poll;
using enftun::service::Notifier;
using enftun::service::StatusThrottle;
using enftun::service::Watchdog;

namespace {

struct State {
    std::string dir;
    std::string path;
    int fd = -1;
    std::optional<Loop> loop;
    std::optional<test_loop::Watchdog> guard;
    std::optional<Poll> poll;
    std::vector<std::string> got; // datagrams, in order
};

int setup(void** state) {
    auto* s = new State;
    // A short path: sun_path holds 108 bytes.
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp != nullptr && std::strlen(tmp) < 60 ? tmp : "/tmp") +
                      "/enftun-notifier-test.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) {
        delete s;
        return -1;
    }
    s->dir = dir;
    s->path = s->dir + "/notify";
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, s->path.c_str(), sizeof addr.sun_path - 1);
    if (s->fd < 0 || bind(s->fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        delete s;
        return -1;
    }
    setenv("NOTIFY_SOCKET", s->path.c_str(), 1);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    s->loop.emplace();
    s->guard.emplace(*s->loop);
    *state = s;
    return 0;
}

int teardown(void** state) {
    auto* s = static_cast<State*>(*state);
    s->poll.reset();
    s->guard.reset();
    s->loop.reset();
    close(s->fd);
    unlink(s->path.c_str());
    rmdir(s->dir.c_str());
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    delete s;
    return 0;
}

State& st(void** state) {
    return *static_cast<State*>(*state);
}

// Reads every datagram waiting on the socket into s.got.
void drain(State& s) {
    char buf[4096];
    for (;;) {
        const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
        if (n < 0) {
            return;
        }
        s.got.emplace_back(buf, static_cast<std::size_t>(n));
    }
}

// Runs the loop until count datagrams have arrived.
void run_until_got(State& s, std::size_t count, const char* what) {
    s.poll.emplace(*s.loop, s.fd, [&s](int, int) {
        drain(s);
        s.guard->check_done();
    });
    s.poll->watch(UV_READABLE);
    s.guard->run_until([&s, count] { return s.got.size() >= count; }, what);
    s.poll.reset();
}

void test_disabled_without_socket(void** state) {
    State& s = st(state);
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "20000", 1);
    Notifier n;
    assert_false(n.enabled());
    n.status("up");
    n.ready();
    n.watchdog();
    Watchdog dog(*s.loop, n);
    assert_int_equal(dog.start(), 0);
    drain(s);
    assert_true(s.got.empty());
    assert_true(n.is_ready()); // the state is kept, only nothing is sent
}

void test_messages(void** state) {
    State& s = st(state);
    Notifier n;
    assert_true(n.enabled());
    n.status("connecting to fd00::1 port 443");
    n.status("connecting to fd00::1 port 443"); // the same again: not resent
    n.status("backing off: bad\nREADY=1\x7f");  // one line, whatever the text
    n.ready();
    n.ready(); // once
    n.stopping();
    drain(s);
    const std::vector<std::string> want = {"STATUS=connecting to fd00::1 port 443",
                                           "STATUS=backing off: bad?READY=1?", "READY=1",
                                           "STOPPING=1"};
    assert_int_equal(s.got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        assert_string_equal(s.got[i].c_str(), want[i].c_str());
    }
    assert_int_equal(Notifier::sanitize(std::string(500, 'x')).size(), 200);
}

void test_reload(void** state) {
    State& s = st(state);
    Notifier n;
    // Before the first READY=1: a reload does not make the start ready.
    n.reloading();
    n.ready_after_reload();
    assert_false(n.is_ready());
    n.ready();
    // Ready: RELOADING=1 with the time, then READY=1 again.
    n.reloading();
    assert_false(n.is_ready());
    n.ready_after_reload();
    assert_true(n.is_ready());
    drain(s);
    assert_int_equal(s.got.size(), 4);
    assert_true(s.got[0].rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    assert_string_equal(s.got[1].c_str(), "READY=1");
    assert_true(s.got[2].rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    assert_true(s.got[2].size() > std::strlen("RELOADING=1\nMONOTONIC_USEC="));
    assert_string_equal(s.got[3].c_str(), "READY=1");
}

void test_watchdog_pings_from_the_loop(void** state) {
    State& s = st(state);
    setenv("WATCHDOG_USEC", "40000", 1); // 40 ms: a ping every 20 ms
    Notifier n;
    Watchdog dog(*s.loop, n);
    assert_int_equal(dog.start(), 20);
    run_until_got(s, 4, "four WATCHDOG=1");
    dog.stop();
    for (const auto& m : s.got) {
        assert_string_equal(m.c_str(), "WATCHDOG=1");
    }
    unsetenv("WATCHDOG_USEC");
    Watchdog none(*s.loop, n);
    assert_int_equal(none.start(), 0);
}

void test_status_throttle(void** state) {
    State& s = st(state);
    Notifier n;
    int sessions = 0;
    StatusThrottle throttle(*s.loop, n, 50, [&] { return std::to_string(sessions) + " sessions"; });
    sessions = 1;
    throttle.changed(); // the first change: at once
    drain(s);
    assert_int_equal(s.got.size(), 1);
    assert_string_equal(s.got[0].c_str(), "STATUS=1 sessions");
    sessions = 2;
    throttle.changed(); // within the interval: later, as it is then
    sessions = 3;
    throttle.changed();
    drain(s);
    assert_int_equal(s.got.size(), 1);
    run_until_got(s, 2, "the throttled STATUS=");
    assert_int_equal(s.got.size(), 2);
    assert_string_equal(s.got[1].c_str(), "STATUS=3 sessions");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disabled_without_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watchdog_pings_from_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_throttle, setup, teardown),
    };
    return cmocka_run_group_tests_name("notifier", tests, nullptr, nullptr);
}
