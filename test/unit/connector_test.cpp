// Unit tests for conn/connector against real loopback sockets and a real
// loop: a listener on [::1] (connect), a bound but not listening port
// (refused), a listener with a full accept queue (SYNs dropped: the attempt
// hangs until its timeout), host lists, "localhost" through uv_getaddrinfo,
// SO_MARK (we run as root), cancel() and destruction mid-flight.
//
// Every wait runs the loop until a condition holds or the loop runs dry,
// guarded by a 10 s watchdog timer that does not keep the loop alive. So
// "no callback ever comes" is checked exactly: the loop ends with nothing
// left that could call back. Callbacks only record; asserts run after.
#include "enftun/conn/connector.hpp"
#include "enftun/loop/loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::UniqueFd;
using enftun::conn::Connected;
using enftun::conn::Connector;
using enftun::conn::ConnectorOptions;

namespace {

struct State {
    std::optional<enftun::loop::Loop> loop;
    std::optional<test_loop::Watchdog> watchdog;
    std::optional<Connector> connector;
    std::vector<Connected> connected;
    int failed = 0;
    std::uint16_t port = 0;
    UniqueFd v6;                 // bound to [::1]:port
    UniqueFd v4;                 // bound to 127.0.0.1:port
    std::vector<UniqueFd> extra; // queue fillers, accepted sockets
    std::optional<enftun::loop::Timer> later;
};
std::optional<State> g;

// A TCP socket bound to addr:port (port 0: the kernel picks).
UniqueFd bound_socket(int family, const char* addr, std::uint16_t port) {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fd;
    }
    int one = 1;
    int rc = -1;
    if (family == AF_INET6) {
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        inet_pton(AF_INET6, addr, &sa.sin6_addr);
        rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        inet_pton(AF_INET, addr, &sa.sin_addr);
        rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    return rc == 0 ? std::move(fd) : UniqueFd();
}

std::uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    sockaddr_in6 sa{};
    std::memcpy(&sa, &ss, sizeof sa);
    return ntohs(sa.sin6_port);
}

// One port P bound (not listening yet) on both [::1]:P and 127.0.0.1:P, so
// one host list can hold a refusing and a listening address on one port.
bool bind_port_pair() {
    for (int i = 0; i < 50; ++i) {
        g->v6 = bound_socket(AF_INET6, "::1", 0);
        if (!g->v6.valid()) {
            return false;
        }
        g->port = local_port(g->v6.get());
        g->v4 = bound_socket(AF_INET, "127.0.0.1", g->port);
        if (g->v4.valid()) {
            return true;
        }
    }
    return false;
}

// Makes `fd` listen with room for one connection and fills that room: the
// kernel then drops further SYNs, so a connect() there hangs.
void listen_full(const UniqueFd& fd, int family) {
    assert_int_equal(::listen(fd.get(), 0), 0);
    UniqueFd filler(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    assert_int_equal(::connect(filler.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
    g->extra.push_back(std::move(filler));
}

void make_connector(std::vector<std::string> hosts, std::uint32_t fwmark = 0,
                    std::uint64_t timeout_ms = 5000) {
    ConnectorOptions opts;
    opts.hosts = std::move(hosts);
    opts.port = g->port;
    opts.fwmark = fwmark;
    opts.connect_timeout_ms = timeout_ms;
    g->connector.emplace(
        *g->loop, opts,
        [](Connected c) {
            g->connected.push_back(std::move(c));
            g->watchdog->check_done();
        },
        [] {
            ++g->failed;
            g->watchdog->check_done();
        });
}

bool got_result() {
    return !g->connected.empty() || g->failed > 0;
}

// The connected socket's peer, as "[addr]:port" / "addr:port".
std::string peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return std::string("getpeername: ") + strerror(errno);
    }
    return enftun::conn::format_sockaddr(ss);
}

void assert_connected_to(const char* want_peer) {
    assert_int_equal(g->failed, 0);
    assert_int_equal(g->connected.size(), 1);
    const Connected& c = g->connected[0];
    assert_true(c.fd.valid());
    assert_string_equal(peer_of(c.fd.get()).c_str(), want_peer);
    assert_string_equal(c.peer.c_str(), want_peer);
    assert_false(g->connector->busy());
}

std::string v6_peer() {
    return "[::1]:" + std::to_string(g->port);
}

std::string v4_peer() {
    return "127.0.0.1:" + std::to_string(g->port);
}

void test_connects_to_listener(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"::1"});
    g->connector->start();
    assert_true(g->connector->busy());
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
    // The listener really has this connection.
    UniqueFd accepted(::accept4(g->v6.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    assert_true(accepted.valid());
    assert_string_equal(peer_of(accepted.get()).c_str(),
                        ("[::1]:" + std::to_string(local_port(g->connected[0].fd.get()))).c_str());
}

void test_socket_options(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"::1"});
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
    int fd = g->connected[0].fd.get();
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    assert_int_equal(nodelay, 1);
}

void test_closed_port_fails(void**) {
    // Bound but not listening: the kernel answers SYN with RST.
    make_connector({"::1"});
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_int_equal(g->failed, 1);
    assert_int_equal(g->connected.size(), 0);
    assert_false(g->connector->busy());
    g->watchdog->run_dry(); // and nothing else follows
    assert_int_equal(g->failed, 1);
}

void test_no_hosts_fails(void**) {
    make_connector({});
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_int_equal(g->failed, 1);
    assert_int_equal(g->connected.size(), 0);
}

void test_refused_first_host_then_second(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"127.0.0.1", "::1"}); // 127.0.0.1:P refuses
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
}

void test_first_host_wins_when_both_listen(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    assert_int_equal(::listen(g->v4.get(), 8), 0);
    make_connector({"127.0.0.1", "::1"});
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v4_peer().c_str());
}

void test_attempt_timeout_moves_on(void**) {
    listen_full(g->v4, AF_INET); // 127.0.0.1:P drops our SYN
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"127.0.0.1", "::1"}, 0, 100);
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
}

void test_every_attempt_times_out(void**) {
    listen_full(g->v6, AF_INET6);
    make_connector({"::1"}, 0, 50);
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_int_equal(g->failed, 1);
    assert_int_equal(g->connected.size(), 0);
}

void test_localhost_resolves(void**) {
    // /etc/hosts may map localhost to 127.0.0.1, ::1 or both: listen on both.
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    assert_int_equal(::listen(g->v4.get(), 8), 0);
    make_connector({"localhost"});
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_int_equal(g->failed, 0);
    assert_int_equal(g->connected.size(), 1);
    std::string peer = peer_of(g->connected[0].fd.get());
    assert_true(peer == v6_peer() || peer == v4_peer());
}

std::uint32_t mark_of(int fd) {
    std::uint32_t mark = 0xdeadbeef;
    socklen_t len = sizeof mark;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len), 0);
    return mark;
}

void test_fwmark_zero_sets_no_mark(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"::1"}, 0);
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
    assert_int_equal(mark_of(g->connected[0].fd.get()), 0);
}

void test_fwmark_sets_so_mark(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"::1"}, 363);
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    assert_connected_to(v6_peer().c_str());
    assert_int_equal(mark_of(g->connected[0].fd.get()), 363);
}

void test_make_tunnel_socket(void**) {
    auto fd = enftun::conn::make_tunnel_socket(AF_INET6, 0x16b);
    assert_true(fd.has_value());
    assert_int_equal(mark_of(fd->get()), 0x16b);
    auto plain = enftun::conn::make_tunnel_socket(AF_INET, 0);
    assert_true(plain.has_value());
    assert_int_equal(mark_of(plain->get()), 0);
    auto bad = enftun::conn::make_tunnel_socket(12345, 0); // no such family
    assert_false(bad.has_value());
    assert_int_equal(static_cast<int>(bad.error().code), static_cast<int>(enftun::Errc::System));
}

void test_cancel_while_resolving(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"localhost"});
    g->connector->start(); // the lookup is now in libuv's thread pool
    g->connector->cancel();
    assert_false(g->connector->busy());
    g->watchdog->run_dry();
    assert_int_equal(g->connected.size(), 0);
    assert_int_equal(g->failed, 0);
}

void test_cancel_while_connecting(void**) {
    listen_full(g->v6, AF_INET6);
    make_connector({"::1"}, 0, 60000);
    g->connector->start();
    // Well after the numeric lookup, the connect is hanging; cancel then.
    // (Cancelling a little earlier would test the lookup case, also fine.)
    g->later.emplace(*g->loop, [] {
        g->connector->cancel();
        g->loop->stop();
    });
    g->later->start(100);
    g->watchdog->run("the cancel");
    assert_false(g->connector->busy());
    g->watchdog->run_dry(); // no attempt timer, poll or deferred result is left
    assert_int_equal(g->connected.size(), 0);
    assert_int_equal(g->failed, 0);
}

void test_restart_after_cancel(void**) {
    assert_int_equal(::listen(g->v6.get(), 8), 0);
    make_connector({"::1"});
    g->connector->start();
    g->connector->cancel();
    g->connector->start();
    g->watchdog->run_until(got_result, "a result");
    g->watchdog->run_dry(); // the cancelled lookup's answer must be dropped
    assert_connected_to(v6_peer().c_str());
}

void test_destroy_while_resolving(void**) {
    make_connector({"localhost"});
    g->connector->start();
    g->connector.reset();   // the lookup outlives the connector
    g->watchdog->run_dry(); // ASan: its answer must not touch the connector
    assert_int_equal(g->connected.size(), 0);
    assert_int_equal(g->failed, 0);
}

int setup(void**) {
    g.emplace();
    g->loop.emplace();
    g->watchdog.emplace(*g->loop);
    return bind_port_pair() ? 0 : -1;
}

int teardown(void**) {
    g->later.reset();
    g->connector.reset();
    g->watchdog.reset();
    g->connected.clear();
    g->loop.reset(); // asserts that every handle was closed
    g.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connects_to_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_port_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_hosts_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_first_host_then_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_host_wins_when_both_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_timeout_moves_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_attempt_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_resolves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwmark_zero_sets_no_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwmark_sets_so_mark, setup, teardown),
        cmocka_unit_test(test_make_tunnel_socket),
        cmocka_unit_test_setup_teardown(test_cancel_while_resolving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_connecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_while_resolving, setup, teardown),
    };
    return cmocka_run_group_tests_name("connector", tests, nullptr, nullptr);
}
