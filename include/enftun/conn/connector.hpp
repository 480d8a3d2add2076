// Connector: turns the configured remote hosts into one connected TCP socket.
// Hosts are resolved afresh on every start() (addresses change), without
// blocking the loop (uv_getaddrinfo runs in libuv's thread pool). All
// addresses of all hosts are tried in config order, one at a time, each
// attempt bounded by its own timeout so a dead address cannot stall the list.
// Every socket carries SO_MARK = fwmark so policy routing keeps tunnel
// traffic out of the tunnel, and the keepalive/TCP_USER_TIMEOUT settings
// of tcp_liveness.hpp so a dead path is noticed by the kernel too.
//
// Lifetime: owned by the client for its whole life and reused for every
// reconnect; results are delivered from a deferred timer callback, so the
// owner may start(), cancel() or tear anything else down inside them.
#pragma once

#include "enftun/conn/tcp_liveness.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace enftun::conn {

struct ConnectorOptions {
    std::vector<std::string> hosts;
    std::uint16_t port = 443;
    std::uint32_t fwmark = 0; // 0: no mark
    std::uint64_t connect_timeout_ms = 5000;
    TcpLiveness liveness{}; // keepalive and TCP_USER_TIMEOUT; zeros: kernel defaults
};

struct Connected {
    UniqueFd fd;
    std::string peer; // "[addr]:port" of the remote end, for logs
    std::string host; // the remote.hosts entry it came from (name or literal)
};

// Creates a nonblocking TCP socket for `family` with the mark and options
// the tunnel needs. Errors: System (sys = errno; EPERM for SO_MARK without
// CAP_NET_ADMIN).
Result<UniqueFd> make_tunnel_socket(int family, std::uint32_t fwmark);

// "[fd00::1]:4443" or "198.18.0.1:4443".
std::string format_sockaddr(const sockaddr_storage& ss);

class Connector {
public:
    using OnConnected = std::function<void(Connected)>;
    using OnFailed = std::function<void()>; // every address of every host failed

    Connector(loop::Loop& loop, ConnectorOptions opts, OnConnected on_connected,
              OnFailed on_failed);
    ~Connector();
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Starts from the first host. Cancels an attempt in progress.
    void start();
    void cancel();
    bool busy() const { return busy_; }
    // "[addr]:port" of the TCP connect in progress; "" while resolving a
    // host name, between attempts and when idle (for `enftun status`).
    std::string trying() const;
    // New options (a config reload) for the next start(); an attempt in
    // progress keeps the ones it started with.
    void set_options(ConnectorOptions opts) { opts_ = std::move(opts); }

private:
    struct Resolve; // one uv_getaddrinfo request; outlives us if need be

    void resolve_next_host();
    void on_resolved(std::vector<sockaddr_storage> addrs, int status);
    void try_next_address();
    void on_socket_event(int status);
    void on_timeout();
    enum class Next { TryNextAddress, ReportConnected, ReportFailed };
    void defer(Next next);
    void on_deferred();

    loop::Loop& loop_; // outlives the connector
    ConnectorOptions opts_;
    OnConnected on_connected_;
    OnFailed on_failed_;

    bool busy_ = false;
    std::size_t host_index_ = 0;
    Resolve* resolving_ = nullptr; // owned by the libuv request
    std::vector<sockaddr_storage> addrs_;
    std::size_t addr_index_ = 0;
    UniqueFd fd_;
    std::unique_ptr<loop::Poll> poll_;
    sockaddr_storage current_{};
    std::string current_host_; // the hosts entry current_ was resolved from
    loop::Timer attempt_timer_;
    loop::Timer deferred_;
    Next next_ = Next::ReportFailed;
};

} // namespace enftun::conn
