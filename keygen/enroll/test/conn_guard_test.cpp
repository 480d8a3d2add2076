// ConnectionGuard's refusal path, with real TLS over loopback TCP: a
// connection run through run_refused() fails its handshake at once, without
// reading the ClientHello waiting for it or sending a byte back; its peer
// sees the connection closed; the job's close leaves no descriptor behind.
// The same guard lets a connection run outside run_refused() complete its
// handshake. close_all_by(): a connection open then is shut down (its
// peer sees the end), one whose handshake starts after is refused as above.
#include "enroll/conn_guard.hpp"

#include "test.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

using enftun::enroll::ConnectionGuard;

namespace {

// Deadlines of an hour: within a test only close_all_by() shuts a
// connection down.
ConnectionGuard::Limits hour_limits() {
    ConnectionGuard::Limits limits;
    limits.header_seconds = std::chrono::hours(1);
    limits.over_cap_header_seconds = std::chrono::hours(1);
    limits.rest_seconds = std::chrono::hours(1);
    return limits;
}

struct Fixture {
    // The guard outlives the SSL_CTX it is attached to (declared first).
    ConnectionGuard guard{hour_limits()};
    SSL_CTX* server_ctx = nullptr;
    SSL_CTX* client_ctx = nullptr;
    int listener = -1;
    int client = -1; // the peer's socket
    int server = -1; // the accepted one, owned by the "job"
    SSL* client_ssl = nullptr;
};

// A P-256 key and a self-signed certificate for it, on ctx.
bool add_identity(SSL_CTX* ctx) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* cert = X509_new();
    bool ok = key != nullptr && cert != nullptr;
    if (ok) {
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("guard-test"), -1, -1, 0);
        X509_set_issuer_name(cert, X509_get_subject_name(cert));
        ok = X509_set_pubkey(cert, key) == 1 && X509_sign(cert, key, EVP_sha256()) > 0 &&
             SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

// listener on 127.0.0.1 (ephemeral port), client connected, server accepted.
bool connect_pair(Fixture& f) {
    f.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (::bind(f.listener, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        ::listen(f.listener, 4) != 0 ||
        ::getsockname(f.listener, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
        return false;
    }
    f.client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(f.client, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
        return false;
    }
    f.server = ::accept4(f.listener, nullptr, nullptr, SOCK_CLOEXEC);
    return f.server >= 0;
}

int setup(void** state) {
    auto* f = new Fixture;
    *state = f;
    f->server_ctx = SSL_CTX_new(TLS_server_method());
    f->client_ctx = SSL_CTX_new(TLS_client_method());
    if (f->server_ctx == nullptr || f->client_ctx == nullptr || !add_identity(f->server_ctx) ||
        !connect_pair(*f)) {
        return -1;
    }
    f->guard.attach(*f->server_ctx);
    SSL_CTX_set_verify(f->client_ctx, SSL_VERIFY_NONE, nullptr);
    f->client_ssl = SSL_new(f->client_ctx);
    SSL_set_fd(f->client_ssl, f->client);
    return 0;
}

int teardown(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    SSL_free(f->client_ssl);
    for (int fd : {f->listener, f->client, f->server}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    SSL_CTX_free(f->server_ctx);
    SSL_CTX_free(f->client_ctx);
    delete f;
    return 0;
}

int open_fds() {
    int n = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    while (dir != nullptr && ::readdir(dir) != nullptr) {
        ++n;
    }
    if (dir != nullptr) {
        ::closedir(dir);
    }
    return n;
}

void test_refused_connection_fails_before_reading(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    // The ClientHello goes out and waits in the server's receive queue.
    SSL_set_connect_state(f->client_ssl);
    ::fcntl(f->client, F_SETFL, O_NONBLOCK);
    assert_int_equal(SSL_get_error(f->client_ssl, SSL_do_handshake(f->client_ssl)),
                     SSL_ERROR_WANT_READ);
    // Nonblocking, as httplib's handshake runs: were the connection not
    // refused, SSL_accept would answer and return WANT_READ, not hang.
    ::fcntl(f->server, F_SETFL, O_NONBLOCK);
    const int fds_before = open_fds();
    int accepted = 99;
    bool replaced = false;
    // What httplib's connection job does (ssl_new, then close_socket).
    f->guard.run_refused([&] {
        SSL* ssl = SSL_new(f->server_ctx);
        SSL_set_fd(ssl, f->server);
        accepted = SSL_accept(ssl);
        struct stat st {};
        replaced = ::fstat(f->server, &st) == 0 && S_ISCHR(st.st_mode);
        SSL_free(ssl);
        ::close(f->server);
    });
    f->server = -1;
    assert_true(accepted <= 0);
    assert_true(replaced); // the socket was swapped for /dev/null
    assert_int_equal(open_fds(), fds_before - 1);
    // The peer: closed (a reset: its ClientHello was never read), and not
    // one byte of a ServerHello. poll's bound is a hang guard.
    pollfd p{f->client, POLLIN, 0};
    assert_int_equal(::poll(&p, 1, 10000), 1);
    char buf[64];
    const ssize_t n = ::recv(f->client, buf, sizeof buf, 0);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

void test_connection_outside_refusal_handshakes(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    int connected = 0;
    std::thread peer([&] { connected = SSL_connect(f->client_ssl); });
    SSL* ssl = SSL_new(f->server_ctx);
    SSL_set_fd(ssl, f->server);
    const int accepted = SSL_accept(ssl);
    peer.join();
    SSL_free(ssl);
    assert_int_equal(accepted, 1);
    assert_int_equal(connected, 1);
}

// Both ends' handshake, the server's outside run_refused(); the server's
// SSL (still open) through *server_ssl. Returns whether both succeeded.
bool handshake(Fixture& f, SSL** server_ssl) {
    int connected = 0;
    std::thread peer([&] { connected = SSL_connect(f.client_ssl); });
    *server_ssl = SSL_new(f.server_ctx);
    SSL_set_fd(*server_ssl, f.server);
    const int accepted = SSL_accept(*server_ssl);
    peer.join();
    return accepted == 1 && connected == 1;
}

void test_close_all_by_shuts_open_connection(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    SSL* ssl = nullptr;
    assert_true(handshake(*f, &ssl));
    f->guard.close_all_by(ConnectionGuard::Clock::now());
    // The peer reads the end of the connection (the watchdog's shutdown),
    // not the hour's deadline; SO_RCVTIMEO bounds a hang (WANT_READ then).
    timeval tv{10, 0};
    ::setsockopt(f->client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16];
    const int n = SSL_read(f->client_ssl, buf, sizeof buf);
    const int err = SSL_get_error(f->client_ssl, n);
    SSL_free(ssl);
    assert_true(n <= 0);
    assert_int_not_equal(err, SSL_ERROR_WANT_READ);
}

void test_close_all_by_refuses_later_handshake(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->guard.close_all_by(ConnectionGuard::Clock::now());
    SSL_set_connect_state(f->client_ssl);
    ::fcntl(f->client, F_SETFL, O_NONBLOCK);
    assert_int_equal(SSL_get_error(f->client_ssl, SSL_do_handshake(f->client_ssl)),
                     SSL_ERROR_WANT_READ);
    ::fcntl(f->server, F_SETFL, O_NONBLOCK);
    // Outside run_refused(): refused because the guard is closing.
    SSL* ssl = SSL_new(f->server_ctx);
    SSL_set_fd(ssl, f->server);
    const int accepted = SSL_accept(ssl);
    struct stat st {};
    const bool replaced = ::fstat(f->server, &st) == 0 && S_ISCHR(st.st_mode);
    SSL_free(ssl);
    assert_true(accepted <= 0);
    assert_true(replaced);
    pollfd p{f->client, POLLIN, 0};
    assert_int_equal(::poll(&p, 1, 10000), 1);
    char buf[64];
    const ssize_t n = ::recv(f->client, buf, sizeof buf, 0);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_connection_fails_before_reading, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_outside_refusal_handshakes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_all_by_shuts_open_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_all_by_refuses_later_handshake, setup, teardown),
    };
    return cmocka_run_group_tests_name("conn_guard", tests, nullptr, nullptr);
}
