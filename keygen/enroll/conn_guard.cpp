#include "enroll/conn_guard.hpp"

#include <openssl/err.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace enftun::enroll {

namespace {

// Where the guard is found: on the SSL_CTX (for the info callback) and on
// each registered SSL (its presence marks the SSL as registered).
int ctx_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

thread_local const SSL* t_current = nullptr; // this pool thread's connection
thread_local bool t_refusing = false;        // inside run_refused()

// The peer's source: its IPv4 address (as ::ffff:a.b.c.d) or its IPv6 /64.
std::array<std::uint8_t, 16> source_of(int fd) {
    std::array<std::uint8_t, 16> key{};
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
        return key;
    }
    if (peer.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &peer, sizeof sin);
        key[10] = 0xff;
        key[11] = 0xff;
        std::memcpy(key.data() + 12, &sin.sin_addr, 4);
    } else if (peer.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &peer, sizeof sin6);
        std::memcpy(key.data(), &sin6.sin6_addr, 16);
        static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(key.data(), kMapped, sizeof kMapped) != 0) {
            std::memset(key.data() + 8, 0, 8); // the /64
        }
    }
    return key;
}

} // namespace

int ConnectionGuard::ssl_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &on_free);
    return index;
}

ConnectionGuard::ConnectionGuard(Limits limits)
    : limits_(limits), null_fd_(::open("/dev/null", O_RDWR | O_CLOEXEC)) {
    watchdog_ = std::thread([this] { watch(); });
}

ConnectionGuard::~ConnectionGuard() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    watchdog_.join();
}

void ConnectionGuard::attach(SSL_CTX& ctx) {
    ssl_index();
    SSL_CTX_set_ex_data(&ctx, ctx_index(), this);
    SSL_CTX_set_info_callback(&ctx, &ConnectionGuard::on_info);
    SSL_CTX_set_msg_callback(&ctx, &ConnectionGuard::on_msg);
}

void ConnectionGuard::on_msg(int write_p, int /*version*/, int content_type, const void* buf,
                             std::size_t len, SSL* ssl, void* /*arg*/) {
    if (write_p != 0 || content_type != SSL3_RT_HEADER || len < SSL3_RT_HEADER_LENGTH) {
        return;
    }
    // Only registered connections carry the guard (admit()).
    auto* guard = static_cast<ConnectionGuard*>(SSL_get_ex_data(ssl, ssl_index()));
    if (guard == nullptr) {
        return;
    }
    // A record header: type, version (2 bytes), length (2 bytes).
    const auto* header = static_cast<const unsigned char*>(buf);
    guard->count_received(ssl, std::size_t{header[3]} << 8 | header[4]);
}

void ConnectionGuard::count_received(const SSL* ssl, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(ssl);
    if (it == entries_.end() || it->second.header_done || it->second.shut) {
        return;
    }
    Entry& e = it->second;
    e.received += bytes;
    if (e.received > limits_.max_header_bytes) {
        // On this connection's own thread, inside its read: from now on it
        // reads /dev/null (refuse()), not what the kernel still holds of it.
        refuse(ssl);
        e.shut = true;
    }
}

void ConnectionGuard::on_info(const SSL* ssl, int where, int /*ret*/) {
    if ((where & SSL_CB_HANDSHAKE_START) == 0 || SSL_get_ex_data(ssl, ssl_index()) != nullptr) {
        return; // registered already (TLS 1.3 post-handshake messages)
    }
    auto* guard =
        static_cast<ConnectionGuard*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
    if (guard == nullptr) {
        return;
    }
    if (t_refusing) {
        guard->refuse(ssl);
    } else {
        guard->admit(ssl);
    }
}

void ConnectionGuard::run_refused(const std::function<void()>& job) {
    t_refusing = true;
    job();
    t_refusing = false;
    // The failed handshake's errors stay on this thread's queue otherwise.
    ERR_clear_error();
}

void ConnectionGuard::refuse(const SSL* ssl) const {
    const int fd = SSL_get_fd(ssl);
    if (fd < 0) {
        return;
    }
    // dup3 closes the socket and reuses its number atomically. Without
    // /dev/null (no such device), shutdown(): the peer sees EOF too, but a
    // ClientHello already received would still be read and answered into
    // the shut socket.
    if (!null_fd_.valid() || ::dup3(null_fd_.get(), fd, O_CLOEXEC) < 0) {
        ::shutdown(fd, SHUT_RDWR);
    }
}

void ConnectionGuard::on_free(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    if (ptr != nullptr) {
        static_cast<ConnectionGuard*>(ptr)->forget(static_cast<const SSL*>(parent));
    }
}

void ConnectionGuard::admit(const SSL* ssl) {
    const int fd = SSL_get_fd(ssl);
    if (fd < 0) {
        return;
    }
    Entry e{fd, source_of(fd), Clock::now() + limits_.header_seconds, false, false};
    std::lock_guard lock(mutex_);
    if (close_by_ <= Clock::now()) {
        refuse(ssl); // closing: not registered, nothing to forget
        return;
    }
    // Marks the SSL: its free callback will unregister it.
    SSL_set_ex_data(const_cast<SSL*>(ssl), ssl_index(), this);
    std::size_t& held = per_source_[e.source];
    if (held >= limits_.max_per_source) {
        e.deadline = Clock::now() + limits_.over_cap_header_seconds;
    } else {
        ++held;
        e.counted = true;
    }
    e.deadline = std::min(e.deadline, close_by_);
    entries_[ssl] = e;
    t_current = ssl;
}

void ConnectionGuard::header_done() {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(t_current); t_current != nullptr && it != entries_.end()) {
        it->second.deadline = std::min(Clock::now() + limits_.rest_seconds, close_by_);
        it->second.header_done = true;
        uncount(it->second);
    }
}

void ConnectionGuard::close_all_by(Clock::time_point by) {
    {
        std::lock_guard lock(mutex_);
        close_by_ = std::min(close_by_, by);
        for (auto& [ssl, e] : entries_) {
            e.deadline = std::min(e.deadline, close_by_);
        }
    }
    wake_.notify_all();
}

void ConnectionGuard::forget(const SSL* ssl) {
    std::lock_guard lock(mutex_);
    if (t_current == ssl) {
        t_current = nullptr;
    }
    if (auto it = entries_.find(ssl); it != entries_.end()) {
        uncount(it->second);
        entries_.erase(it);
    }
}

void ConnectionGuard::uncount(Entry& e) {
    if (!e.counted) {
        return;
    }
    e.counted = false;
    if (auto src = per_source_.find(e.source); src != per_source_.end() && --src->second == 0) {
        per_source_.erase(src);
    }
}

void ConnectionGuard::watch() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::milliseconds(250));
        const auto now = Clock::now();
        for (auto& [ssl, e] : entries_) {
            if (!e.shut && e.deadline <= now) {
                // Under the mutex: forget() (before the socket is closed)
                // cannot run meanwhile, so fd is still this connection's.
                ::shutdown(e.fd, SHUT_RDWR);
                e.shut = true;
            }
        }
    }
}

} // namespace enftun::enroll
