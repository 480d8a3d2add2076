#include "enftun/control/control_client.hpp"

#include "enftun/util/unique_fd.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace enftun::control {

namespace {

std::int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits for `events` on fd until the deadline. false: the deadline passed.
bool wait_for(int fd, short events, std::int64_t deadline) {
    for (;;) {
        std::int64_t left = deadline - now_ms();
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc > 0) {
            return true;
        }
        if (rc < 0 && errno != EINTR) {
            return true; // let the following call report the error
        }
    }
}

} // namespace

Result<std::string> send_request(const std::string& path, std::string_view request, int timeout_ms,
                                 std::size_t max_answer) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.front() != '/' || path.size() >= sizeof(addr.sun_path)) {
        return make_error(Errc::Config, "control socket path must be absolute and short");
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return make_error(Errc::System, "socket", errno);
    }
    // A connect to a listener whose backlog is full (a daemon pausing its
    // accepts, or a socket nobody accepts on) waits for room: at most
    // timeout_ms (a Unix socket's connect waits SO_SNDTIMEO, then EAGAIN).
    const timeval limit{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit)) != 0) {
        return make_error(Errc::System, "setsockopt", errno);
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): sockaddr's C "subclass"
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EAGAIN || errno == EINPROGRESS) {
            return make_error(Errc::Timeout, "connect");
        }
        return make_error(Errc::System, "connect", errno);
    }
    std::int64_t deadline = now_ms() + timeout_ms;
    std::string line(request);
    line += '\n';
    std::size_t sent = 0;
    while (sent < line.size()) {
        if (!wait_for(fd.get(), POLLOUT, deadline)) {
            return make_error(Errc::Timeout, "send");
        }
        ssize_t n =
            ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return make_error(Errc::System, "send", errno);
        }
        sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    std::string answer;
    char buf[4096];
    for (;;) {
        if (!wait_for(fd.get(), POLLIN, deadline)) {
            return make_error(Errc::Timeout, "recv");
        }
        ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0) {
            return answer;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return make_error(Errc::System, "recv", errno);
        }
        if (answer.size() + static_cast<std::size_t>(n) > max_answer) {
            return make_error(Errc::NoSpace, "answer too long");
        }
        answer.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace enftun::control
