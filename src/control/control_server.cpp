#include "enftun/control/control_server.hpp"

#include "enftun/control/request.hpp"
#include "enftun/log/log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::control {

struct ControlServer::Connection {
    UniqueFd fd;
    std::unique_ptr<loop::Poll> poll; // closed before fd (declared after it)
    std::unique_ptr<loop::Timer> deadline;
    std::list<std::unique_ptr<Connection>>::iterator self; // in conns_
    std::string in;                                        // the request so far
    std::string out;                                       // the answer, or its slice
    std::function<bool(std::string&)> more;                // its next slices (answer.hpp)
    std::size_t total = 0;                                 // its bytes so far, slices included
    std::size_t charged = 0;                               // bytes charged to the budget
    std::size_t sent = 0;                                  // of out
    bool answering = false;
    bool closed = false;
};

namespace {

// At most this many connections accepted per wakeup, so a flood of
// connects cannot keep the loop from the tunnel.
constexpr int kAcceptBatch = 16;

// At most one "answered busy" log line per this many ms.
constexpr std::uint64_t kBusyLogIntervalMs = 10000;

bool fill_address(const std::string& path, sockaddr_un& addr) {
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.front() != '/' || path.size() >= sizeof(addr.sun_path)) {
        return false;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

const sockaddr* as_sockaddr(const sockaddr_un& addr) {
    return reinterpret_cast<const sockaddr*>(&addr); // NOLINT: the sockets API's C "subclass"
}

// 0 if a daemon answers on the stream socket at `addr`, else connect's
// errno: ECONNREFUSED for a socket nobody listens on (a blocking connect to
// a Unix socket is refused or accepted at once: it never waits for the peer).
int probe_listener(const sockaddr_un& addr) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe.valid()) {
        return errno;
    }
    return ::connect(probe.get(), as_sockaddr(addr), sizeof(addr)) == 0 ? 0 : errno;
}

// Removes a stale socket at path: only a stream socket nobody listens on
// (ECONNREFUSED), what a daemon that died leaves. Anything else is left
// alone. Errors: EADDRINUSE (a daemon answers there, or it is a socket of
// another kind, say a datagram socket such as systemd's NOTIFY_SOCKET),
// EEXIST (not a socket), or lstat/unlink's errno.
int clear_stale(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return errno == ENOENT ? 0 : errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return EEXIST;
    }
    if (probe_listener(addr) != ECONNREFUSED) {
        return EADDRINUSE;
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return errno;
    }
    return 0;
}

// Makes the socket's folder if it is missing (one level: /run/enftun).
int make_parent(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == 0 || slash == std::string::npos) {
        return 0;
    }
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return errno;
    }
    return 0;
}

// The socket's folder must be one nobody else can change entries in:
// owned by us or root, and writable by no one else unless sticky (/tmp:
// there only an entry's owner may remove or rename it). In a folder another
// user owns or may write, they could take the socket away or swap it for
// theirs and answer `status` in the daemon's name.
Status check_folder(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        return make_error(Errc::System, "stat the socket's folder", errno);
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return make_error(Errc::Config, "the socket's folder belongs to another user", EPERM);
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
        return make_error(Errc::Config, "the socket's folder is writable by others", EPERM);
    }
    return {};
}

// socket, bind and listen at path with mode 0660. The socket is bound
// under umask 0117, so it is made with that mode: no chmod by path
// afterwards, which would follow a symlink put in the socket's place.
Result<UniqueFd> bind_socket(const std::string& path, const sockaddr_un& addr, ino_t& inode) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return make_error(Errc::System, "socket", errno);
    }
    mode_t old_mask = ::umask(0117);
    int rc = ::bind(fd.get(), as_sockaddr(addr), sizeof(addr));
    int bind_errno = errno;
    ::umask(old_mask);
    if (rc != 0) {
        return make_error(Errc::System, "bind", bind_errno);
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        int saved = errno;
        ::unlink(path.c_str());
        return make_error(Errc::System, "lstat", saved);
    }
    inode = st.st_ino;
    if (::listen(fd.get(), 16) != 0) {
        int saved = errno;
        ::unlink(path.c_str());
        return make_error(Errc::System, "listen", saved);
    }
    return fd;
}

} // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::create(loop::Loop& loop, std::string path,
                                                             Handler handler, ServerLimits limits) {
    sockaddr_un addr{};
    if (!fill_address(path, addr)) {
        return make_error(Errc::Config, "control socket path must be absolute and short");
    }
    if (int err = make_parent(path); err != 0) {
        return make_error(Errc::System, "mkdir", err);
    }
    if (auto folder = check_folder(path); !folder) {
        return folder.error();
    }
    if (int err = clear_stale(path, addr); err != 0) {
        return make_error(Errc::System, "control socket", err);
    }
    ino_t inode = 0;
    auto fd = bind_socket(path, addr, inode);
    if (!fd) {
        return fd.error();
    }
    return std::unique_ptr<ControlServer>(new ControlServer(
        loop, std::move(path), std::move(handler), limits, std::move(*fd), inode));
}

ControlServer::ControlServer(loop::Loop& loop, std::string path, Handler handler,
                             ServerLimits limits, UniqueFd fd, ino_t inode)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), limits_(limits),
      fd_(std::move(fd)), inode_(inode), poll_(loop, fd_.get(),
                                               [this](int status, int) {
                                                   if (status >= 0) {
                                                       on_acceptable();
                                                   }
                                               }),
      resume_(loop, [this] { poll_.watch(UV_READABLE); }), dead_(loop),
      budget_(limits.answers_per_s, limits.answer_burst) {
    poll_.watch(UV_READABLE);
}

ControlServer::~ControlServer() {
    resume_.stop();
    poll_.watch(0);
    conns_.clear();
    dead_.clear();
    // Remove the socket file only if it is still ours: a second daemon
    // started by mistake on the same path must not take the first's away.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode_) {
        ::unlink(path_.c_str());
    }
}

void ControlServer::on_acceptable() {
    if (!budget_.ready(loop_.now_ms())) {
        pause_accepting(budget_.ms_until_token());
        return;
    }
    for (int i = 0; i < kAcceptBatch; ++i) {
        UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                ENFTUN_LOG_RATELIMITED(log::Level::Warn, "control socket: accept: %s",
                                       std::strerror(errno));
            }
            return;
        }
        if (conns_.size() >= limits_.max_clients) {
            ++counters_.turned_away;
            static constexpr char kBusy[] = "error: busy\n";
            (void)::send(fd.get(), kBusy, sizeof(kBusy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            continue; // fd closes here
        }
        auto conn = std::make_unique<Connection>();
        Connection& c = *conn;
        c.fd = std::move(fd);
        c.poll =
            std::make_unique<loop::Poll>(loop_, c.fd.get(), [this, &c](int status, int events) {
                on_conn_event(c, status, events);
            });
        c.deadline = std::make_unique<loop::Timer>(loop_, [this, &c] { on_conn_deadline(c); });
        conns_.push_back(std::move(conn));
        c.self = std::prev(conns_.end());
        c.deadline->start(limits_.request_ms);
        c.poll->watch(UV_READABLE);
    }
}

// Nothing to answer with: new connections wait in the kernel's backlog
// (accepted, they would cost a busy answer each) until the refill.
void ControlServer::pause_accepting(std::uint64_t ms) {
    poll_.watch(0);
    resume_.start(std::max<std::uint64_t>(ms, 1));
}

void ControlServer::on_conn_event(Connection& c, int status, int events) {
    if (c.closed) {
        return;
    }
    if (status < 0) {
        close_conn(c);
    } else if (c.answering && (events & UV_WRITABLE) != 0) {
        on_conn_writable(c);
    } else if (!c.answering && (events & UV_READABLE) != 0) {
        on_conn_readable(c);
    }
}

void ControlServer::on_conn_readable(Connection& c) {
    char buf[512];
    std::size_t room = limits_.max_request + 1 - c.in.size();
    ssize_t n = ::recv(c.fd.get(), buf, std::min(room, sizeof(buf)), 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            close_conn(c);
        }
        return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    auto newline = c.in.find('\n');
    if (newline != std::string::npos && newline < limits_.max_request) {
        c.in.resize(newline);
    } else if (c.in.size() >= limits_.max_request) {
        ++counters_.bad;
        answer(c, error_line("request too long"));
        return;
    } else if (n > 0) {
        return; // more to come
    } else if (c.in.empty()) {
        close_conn(c); // connected and left without a word
        return;
    }
    // A line, or the peer's half-close after one without a newline.
    answer(c, answer_within_budget(c.in));
}

Answer ControlServer::answer_within_budget(std::string_view request) {
    const std::uint64_t now = loop_.now_ms();
    if (!budget_.take(now)) {
        ++counters_.limited;
        log_busy(now);
        return busy_line(budget_.per_second());
    }
    Answer a;
    try {
        a = handler_(request);
    } catch (const std::exception&) {
        // A renderer's failure (say a JSON type error) must not end the daemon.
        a = Answer(error_line("internal error"));
    }
    if (a.text.starts_with("error: ")) {
        ++counters_.bad;
    }
    // A sliced answer's hint now, what its slices add beyond it as they come
    // (next_slice).
    a.size_hint = std::max(a.size_hint, a.text.size());
    budget_.charge(a.size_hint);
    return a;
}

void ControlServer::log_busy(std::uint64_t now_ms) {
    // One line at the first busy answer, then at most one per interval with
    // the count since the last: a poller in a tight loop gets thousands.
    ++busy_unlogged_;
    if (busy_logged_ms_ != 0 && now_ms - busy_logged_ms_ < kBusyLogIntervalMs) {
        return;
    }
    ENFTUN_LOG_WARN("control socket %s: %llu requests answered busy since the last such line "
                    "(at most %u answers a second; a status poller in a tight loop?)",
                    path_.c_str(), static_cast<unsigned long long>(busy_unlogged_),
                    static_cast<unsigned>(budget_.per_second()));
    busy_unlogged_ = 0;
    busy_logged_ms_ = now_ms == 0 ? 1 : now_ms;
}

void ControlServer::answer(Connection& c, Answer a) {
    ++counters_.answered;
    c.answering = true;
    c.out = std::move(a.text);
    c.more = std::move(a.more);
    c.total = c.out.size();
    c.charged = a.size_hint;
    c.in.clear();
    c.deadline->start(limits_.reply_ms);
    c.poll->watch(UV_WRITABLE);
    on_conn_writable(c);
}

// At most one slice of a sliced answer per call: while the socket has room
// the poll calls again on the loop's next turn, after the other events
// (packets) of this one.
void ControlServer::on_conn_writable(Connection& c) {
    if (!send_out(c)) {
        close_conn(c); // the peer went away: nothing more to do for it
        return;
    }
    if (c.sent < c.out.size()) {
        return; // the poll calls again when there is room
    }
    if (c.more) {
        if (!next_slice(c) || !send_out(c)) {
            close_conn(c);
        }
        return;
    }
    ::shutdown(c.fd.get(), SHUT_WR);
    close_conn(c);
}

bool ControlServer::send_out(Connection& c) {
    while (c.sent < c.out.size()) {
        ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        c.sent += static_cast<std::size_t>(n);
        counters_.bytes += static_cast<std::uint64_t>(n);
    }
    return true;
}

bool ControlServer::next_slice(Connection& c) {
    c.out.clear(); // keeps its capacity: one slice's worth
    c.sent = 0;
    bool again = false;
    try {
        again = c.more(c.out);
    } catch (const std::exception& e) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "control socket %s: answer cut: %s", path_.c_str(),
                               e.what());
        return false;
    }
    if (!again) {
        c.more = nullptr;
    }
    c.total += c.out.size();
    if (c.total > c.charged) {
        budget_.charge_growth(c.charged, c.total);
        c.charged = c.total;
    }
    return true;
}

void ControlServer::on_conn_deadline(Connection& c) {
    if (c.closed) {
        return;
    }
    ++counters_.timed_out;
    if (!c.answering) {
        static constexpr char kTimeout[] = "error: timeout\n";
        (void)::send(c.fd.get(), kTimeout, sizeof(kTimeout) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close_conn(c);
}

void ControlServer::close_conn(Connection& c) {
    // Called from the connection's own callbacks: its handles go to the
    // graveyard, destroyed on the loop's next turn.
    c.closed = true;
    c.poll->watch(0);
    c.deadline->stop();
    auto owned = std::move(*c.self);
    conns_.erase(c.self);
    dead_.bury(std::move(owned));
}

} // namespace enftun::control
