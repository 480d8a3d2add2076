// Unit tests for conn/tcp_liveness: the values derived from the heartbeat
// settings (defaults, short and absurd settings), the settings read back
// with getsockopt from a real TCP socket, and the Connector applying them to
// the socket it hands over (a real connection over loopback, a real loop).
#include "enftun/conn/connector.hpp"
#include "enftun/conn/tcp_liveness.hpp"
#include "enftun/loop/loop.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "test.hpp"

using enftun::UniqueFd;
using enftun::conn::tcp_liveness_for;
using enftun::conn::TcpLiveness;

namespace {

void assert_liveness(const TcpLiveness& l, std::uint32_t user_ms, std::uint32_t idle_s,
                     std::uint32_t intvl_s, std::uint32_t cnt) {
    assert_int_equal(l.user_timeout_ms, user_ms);
    assert_int_equal(l.keepalive_idle_s, idle_s);
    assert_int_equal(l.keepalive_interval_s, intvl_s);
    assert_int_equal(l.keepalive_count, cnt);
}

void test_defaults_from_default_heartbeat(void**) {
    // conf/example.conf defaults: period 60 s, timeout 15 s.
    assert_liveness(tcp_liveness_for(60000, 15000), 30000, 75, 5, 3);
}

void test_user_timeout_outlasts_heartbeat_timeout(void**) {
    // The heartbeat must report an idle black hole before TCP does.
    for (std::uint64_t timeout : {100u, 1000u, 4999u, 5000u, 15000u, 600000u}) {
        TcpLiveness l = tcp_liveness_for(60000, timeout);
        assert_true(l.user_timeout_ms > timeout);
        assert_true(l.user_timeout_ms >= 10000);
    }
}

void test_keepalive_idle_outlasts_heartbeat(void**) {
    // Keepalive is a backstop: it must not fire while the heartbeat works.
    for (std::uint64_t period : {100u, 1500u, 60000u}) {
        TcpLiveness l = tcp_liveness_for(period, 2000);
        assert_true(std::uint64_t{l.keepalive_idle_s} * 1000 >= period + 2000);
    }
}

void test_short_heartbeat_rounds_up_to_one_second(void**) {
    assert_liveness(tcp_liveness_for(100, 100), 10000, 1, 1, 3);
}

void test_absurd_heartbeat_is_clamped(void**) {
    TcpLiveness l = tcp_liveness_for(UINT64_MAX, UINT64_MAX);
    assert_int_equal(l.user_timeout_ms, 0x7fffffffu);
    assert_int_equal(l.keepalive_idle_s, 32767);
    assert_int_equal(l.keepalive_interval_s, 32767);
}

UniqueFd tcp_socket() {
    return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

void test_apply_and_read_back(void**) {
    UniqueFd fd = tcp_socket();
    assert_true(fd.valid());
    TcpLiveness want = tcp_liveness_for(60000, 15000);
    assert_true(enftun::conn::apply_tcp_liveness(fd.get(), want).has_value());
    auto got = enftun::conn::read_tcp_liveness(fd.get());
    assert_true(got.has_value());
    assert_liveness(*got, want.user_timeout_ms, want.keepalive_idle_s, want.keepalive_interval_s,
                    want.keepalive_count);
}

void test_zero_settings_leave_kernel_defaults(void**) {
    UniqueFd fd = tcp_socket();
    assert_true(enftun::conn::apply_tcp_liveness(fd.get(), TcpLiveness{}).has_value());
    auto got = enftun::conn::read_tcp_liveness(fd.get());
    assert_true(got.has_value());
    assert_liveness(*got, 0, 0, 0, 0);
}

void test_read_back_on_bad_fd_is_an_error(void**) {
    auto got = enftun::conn::read_tcp_liveness(-1);
    assert_false(got.has_value());
    assert_int_equal(got.error().code, enftun::Errc::System);
}

// ------------------------------------------------- Connector applies them

struct ConnState {
    std::optional<enftun::loop::Loop> loop;
    UniqueFd listener;
    std::uint16_t port = 0;
    std::optional<TcpLiveness> seen; // read back from the connected socket
    bool failed = false;
};
ConnState* g = nullptr;

int setup_conn(void**) {
    g = new ConnState();
    g->loop.emplace();
    g->listener = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (!g->listener.valid() ||
        ::bind(g->listener.get(), reinterpret_cast<sockaddr*>(&sin), len) != 0 ||
        ::listen(g->listener.get(), 4) != 0 ||
        getsockname(g->listener.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
        return -1;
    }
    g->port = ntohs(sin.sin_port);
    return 0;
}

int teardown_conn(void**) {
    delete g; // handles close in ~Connector/~Timer, then ~Loop runs their callbacks
    g = nullptr;
    return 0;
}

void test_connector_applies_liveness(void**) {
    enftun::conn::ConnectorOptions opts;
    opts.hosts = {"127.0.0.1"};
    opts.port = g->port;
    opts.connect_timeout_ms = 5000;
    opts.liveness = tcp_liveness_for(2000, 3000);
    {
        enftun::loop::Timer deadline(*g->loop, [] { g->loop->stop(); });
        enftun::conn::Connector connector(
            *g->loop, opts,
            [](enftun::conn::Connected c) {
                auto l = enftun::conn::read_tcp_liveness(c.fd.get());
                if (l) {
                    g->seen = *l;
                }
                g->loop->stop();
            },
            [] {
                g->failed = true;
                g->loop->stop();
            });
        deadline.start(10000); // a guard against hangs, not a timing assertion
        connector.start();
        g->loop->run();
    }
    assert_false(g->failed);
    assert_true(g->seen.has_value());
    assert_liveness(*g->seen, opts.liveness.user_timeout_ms, opts.liveness.keepalive_idle_s,
                    opts.liveness.keepalive_interval_s, opts.liveness.keepalive_count);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_default_heartbeat),
        cmocka_unit_test(test_user_timeout_outlasts_heartbeat_timeout),
        cmocka_unit_test(test_keepalive_idle_outlasts_heartbeat),
        cmocka_unit_test(test_short_heartbeat_rounds_up_to_one_second),
        cmocka_unit_test(test_absurd_heartbeat_is_clamped),
        cmocka_unit_test(test_apply_and_read_back),
        cmocka_unit_test(test_zero_settings_leave_kernel_defaults),
        cmocka_unit_test(test_read_back_on_bad_fd_is_an_error),
        cmocka_unit_test_setup_teardown(test_connector_applies_liveness, setup_conn, teardown_conn),
    };
    return cmocka_run_group_tests_name("tcp_liveness", tests, nullptr, nullptr);
}
