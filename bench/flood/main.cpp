// enftun-flood: holds many unauthenticated TCP connections to a TLS server,
// as an attacker without a certificate would, for the router's flood test
// (test/netns/router_flood_test.sh) and bench/flood.sh. Not part of enftun.
//
//   enftun-flood -c ADDR -p PORT -s SRC[,SRC...] -n PER_SOURCE -m MODE
//                [-d SECONDS] [-r CONNECTS_PER_S] [-R]
//
// Each source address (bound before connect) opens PER_SOURCE connections.
// MODE is what each sends once connected, then it holds the connection:
//   silent     nothing
//   oversized  9 bytes: a TLS record of 4 bytes holding a ClientHello header
//              that announces 131071 bytes (OpenSSL's limit is ~128 KiB), for
//              which OpenSSL would grow (and zero) its buffer at once
//   maxhello   the same announcing 16384 bytes (the router's limit)
//   fillhello  a full 16 KiB record holding a ClientHello of 16384 bytes but
//              for its last 4: OpenSSL buffers all of it and waits
// With -R a connection the server closes is opened again (at most -r
// connects per second in all, default 5000): the flood is kept up for the
// whole duration (-d, default 20 s). One status line per second on stdout:
//   open N connected N closed-by-peer N connects N failed N
// Exit status 0, or 2 for a usage error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string target;
    int port = 4443;
    std::vector<std::string> sources;
    int per_source = 100;
    std::string mode = "silent";
    int duration_s = 20;
    int rate = 5000;
    bool reconnect = false;
};

struct Conn {
    int fd = -1;
    int source = 0;
    bool connected = false;
};

struct Stats {
    long open = 0, connected = 0, closed_by_peer = 0, connects = 0, failed = 0;
};

// A complete 4-byte record holding just the handshake header: OpenSSL reads
// the header at once (a longer record would first have to arrive in full).
const std::uint8_t kOversized[9] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0xff, 0xff};
const std::uint8_t kMaxHello[9] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x40, 0x00};

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

bool make_addr(const std::string& text, int port, sockaddr_in6& out) {
    out = {};
    out.sin6_family = AF_INET6;
    out.sin6_port = htons(static_cast<std::uint16_t>(port));
    return inet_pton(AF_INET6, text.c_str(), &out.sin6_addr) == 1;
}

class Flood {
public:
    explicit Flood(Options o) : o_(std::move(o)), ep_(epoll_create1(EPOLL_CLOEXEC)) {}

    int run() {
        if (!make_addr(o_.target, o_.port, target_)) {
            std::fprintf(stderr, "enftun-flood: bad target %s\n", o_.target.c_str());
            return 2;
        }
        src_.resize(o_.sources.size());
        for (std::size_t i = 0; i < o_.sources.size(); ++i) {
            if (!make_addr(o_.sources[i], 0, src_[i])) {
                std::fprintf(stderr, "enftun-flood: bad source %s\n", o_.sources[i].c_str());
                return 2;
            }
            for (int n = 0; n < o_.per_source; ++n) {
                todo_.push_back(static_cast<int>(i));
            }
        }
        std::uint64_t start = now_ms();
        std::uint64_t end = start + static_cast<std::uint64_t>(o_.duration_s) * 1000;
        std::uint64_t next_report = start + 1000;
        std::uint64_t tick = start;
        double tokens = 0;
        std::vector<epoll_event> events(1024);
        while (now_ms() < end) {
            std::uint64_t now = now_ms();
            tokens = std::min<double>(tokens + static_cast<double>(now - tick) * o_.rate / 1000.0,
                                      o_.rate);
            tick = now;
            while (tokens >= 1 && !todo_.empty()) {
                open_one(todo_.front());
                todo_.pop_front();
                tokens -= 1;
            }
            int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 10);
            for (int i = 0; i < n; ++i) {
                on_event(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
                         events[static_cast<std::size_t>(i)].events);
            }
            if (now_ms() >= next_report) {
                report();
                next_report += 1000;
            }
        }
        report();
        return 0;
    }

private:
    void open_one(int source) {
        ++st_.connects;
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ++st_.failed;
            return;
        }
        int one = 1;
        setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        const sockaddr_in6& src = src_[static_cast<std::size_t>(source)];
        if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0 ||
            (connect(fd, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0 &&
             errno != EINPROGRESS)) {
            ++st_.failed;
            close(fd);
            return;
        }
        auto* c = new Conn{fd, source, false};
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = c;
        epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
        ++st_.open;
    }

    void on_event(Conn& c, std::uint32_t events) {
        if (!c.connected && (events & EPOLLOUT) != 0 && (events & (EPOLLERR | EPOLLHUP)) == 0) {
            c.connected = true;
            ++st_.connected;
            if (!send_payload(c.fd)) {
                drop(c, true);
                return;
            }
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.ptr = &c;
            epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
            return;
        }
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
            char buf[4096];
            ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                return; // whatever the server says (e.g. an alert): keep holding
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                return;
            }
            drop(c, c.connected);
        }
    }

    bool send_payload(int fd) {
        if (o_.mode == "oversized" || o_.mode == "maxhello") {
            const std::uint8_t* p = o_.mode == "oversized" ? kOversized : kMaxHello;
            return send(fd, p, 9, MSG_NOSIGNAL) == 9;
        }
        if (o_.mode == "fillhello") {
            // Record of 16384 bytes: the handshake header and 16380 of the
            // 16384 body bytes it announces.
            static std::vector<std::uint8_t> record = [] {
                std::vector<std::uint8_t> r(5 + 16384, 0);
                const std::uint8_t head[9] = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x40, 0x00};
                std::memcpy(r.data(), head, sizeof head);
                return r;
            }();
            // The socket buffer takes it at once (a fresh connection).
            return send(fd, record.data(), record.size(), MSG_NOSIGNAL) ==
                   static_cast<ssize_t>(record.size());
        }
        return true;
    }

    void drop(Conn& c, bool by_peer) {
        if (by_peer) {
            ++st_.closed_by_peer;
        } else {
            ++st_.failed;
        }
        if (c.connected) {
            --st_.connected;
        }
        --st_.open;
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        if (o_.reconnect) {
            todo_.push_back(c.source);
        }
        delete &c;
    }

    void report() {
        std::printf("open %ld connected %ld closed-by-peer %ld connects %ld failed %ld\n", st_.open,
                    st_.connected, st_.closed_by_peer, st_.connects, st_.failed);
        std::fflush(stdout);
    }

    Options o_;
    int ep_;
    sockaddr_in6 target_{};
    std::vector<sockaddr_in6> src_;
    std::deque<int> todo_;
    Stats st_;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        std::size_t comma = s.find(',', pos);
        if (comma == std::string::npos) {
            comma = s.size();
        }
        if (comma > pos) {
            out.push_back(s.substr(pos, comma - pos));
        }
        pos = comma + 1;
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    int c = 0;
    while ((c = getopt(argc, argv, "c:p:s:n:m:d:r:R")) != -1) {
        switch (c) {
        case 'c':
            o.target = optarg;
            break;
        case 'p':
            o.port = std::atoi(optarg);
            break;
        case 's':
            o.sources = split(optarg);
            break;
        case 'n':
            o.per_source = std::atoi(optarg);
            break;
        case 'm':
            o.mode = optarg;
            break;
        case 'd':
            o.duration_s = std::atoi(optarg);
            break;
        case 'r':
            o.rate = std::atoi(optarg);
            break;
        case 'R':
            o.reconnect = true;
            break;
        default:
            std::fprintf(stderr, "usage: enftun-flood -c ADDR -p PORT -s SRC[,SRC...] -n N "
                                 "-m silent|oversized|maxhello|fillhello [-d S] [-r RATE] [-R]\n");
            return 2;
        }
    }
    if (o.target.empty() || o.sources.empty() || o.per_source < 1 || o.rate < 1 ||
        (o.mode != "silent" && o.mode != "oversized" && o.mode != "maxhello" &&
         o.mode != "fillhello")) {
        std::fprintf(stderr, "enftun-flood: need -c, -s, -n >= 1, -r >= 1 and a known -m\n");
        return 2;
    }
    // Every connection is a descriptor: raise the soft limit to the hard one.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return Flood(std::move(o)).run();
}
