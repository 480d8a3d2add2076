// ControlServer: the daemon's end of the control socket, a Unix stream
// socket served on the event loop. It owns the listening socket, its path
// and every connection; what a request means is the handler's business
// (request.hpp's answer_request for the status requests).
//
// One request per connection: the peer sends one line, the server answers
// with the handler's Answer (answer.hpp: whole, or in slices written one
// per loop turn as the socket takes them) and closes. Every peer is bounded:
//   - size: a line longer than limits.max_request gets "error: ..." and is
//     closed (the rest is never read);
//   - time: the line must arrive within limits.request_ms, the answer be
//     taken within limits.reply_ms (all its slices); else the connection
//     is closed;
//   - number: beyond limits.max_clients open connections, a new one is
//     closed at once ("error: busy");
//   - rate: answers come out of an AnswerBudget (answer_budget.hpp) of
//     limits.answers_per_s a second, limits.answer_burst at once, a long
//     answer counting as several; beyond it a request is answered with one
//     "error: busy: at most N answers a second, try again" line (counted in
//     `limited`, logged at most once per 10 s with the count) and the
//     handler is not called. While the budget is empty no connection is
//     accepted at all: new ones wait in the kernel's backlog (their
//     connect() blocks once it is full) until a token is back, so a tight
//     loop costs neither answers nor busy answers. Pollers so get a bounded
//     share of the loop that forwards packets; the daemons' metrics files
//     are written apart from this budget.
// Who may connect is the socket file's business: mode 0660, owned by the
// daemon's user and group, so the kernel refuses (EACCES) everyone else. Its
// folder must be owned by the daemon's user or root and writable by nobody
// else unless sticky: else another user could take the socket's place.
//
// Lifetime: create() binds and listens; the destructor closes everything
// and removes the socket file (only if it is still the one it made). The
// Loop must outlive the server. The handler runs on the loop thread and
// must not destroy the server.
#pragma once

#include "enftun/control/answer.hpp"
#include "enftun/control/answer_budget.hpp"
#include "enftun/control/server_counters.hpp"
#include "enftun/loop/graveyard.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

namespace enftun::control {

struct ServerLimits {
    std::size_t max_request = 256;    // bytes of the request line, its newline included
    std::uint64_t request_ms = 2000;  // to send the whole line
    std::uint64_t reply_ms = 5000;    // to take the whole answer
    std::size_t max_clients = 8;      // connections open at once
    std::uint32_t answers_per_s = 20; // AnswerBudget's refill; 0: no limit
    std::uint32_t answer_burst = 60;  // AnswerBudget's size
};

class ControlServer {
public:
    // The request line without its newline (and without a trailing "\r"
    // only if the handler strips it); returns the answer (a std::string
    // converts to a whole one).
    using Handler = std::function<Answer(std::string_view request)>;

    // Creates the socket at `path` (absolute, at most 107 bytes): a stale
    // socket there (nobody listening) is replaced, the parent folder is
    // made (mode 0755) if missing, the socket gets mode 0660.
    // Only a stream socket nobody listens on counts as stale.
    // Errors: Config (path not absolute or too long; with sys = EPERM, the
    // folder belongs to another user than ours and root, or others may
    // write it and it is not sticky), System with
    // sys = EADDRINUSE (a daemon answers there, or another kind of socket
    // is there), EEXIST (something that is not a socket is there) or the
    // errno of the failing call.
    static Result<std::unique_ptr<ControlServer>> create(loop::Loop& loop, std::string path,
                                                         Handler handler, ServerLimits limits = {});
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::string& path() const { return path_; }
    const ServerCounters& counters() const { return counters_; }
    std::size_t open_connections() const { return conns_.size(); }

private:
    struct Connection;
    ControlServer(loop::Loop& loop, std::string path, Handler handler, ServerLimits limits,
                  UniqueFd fd, ino_t inode);

    void on_acceptable();
    void pause_accepting(std::uint64_t ms);
    void on_conn_event(Connection& c, int status, int events);
    void on_conn_readable(Connection& c);
    void on_conn_writable(Connection& c);
    void on_conn_deadline(Connection& c);
    Answer answer_within_budget(std::string_view request);
    void log_busy(std::uint64_t now_ms);
    void answer(Connection& c, Answer a);
    // Sends what is left of c.out. False: the peer went away.
    bool send_out(Connection& c);
    // c.out = the next slice of a sliced answer (charged to the budget).
    // False: its source failed.
    bool next_slice(Connection& c);
    void close_conn(Connection& c);

    loop::Loop& loop_; // outlives the server
    std::string path_;
    Handler handler_;
    ServerLimits limits_;
    UniqueFd fd_;
    ino_t inode_; // of the socket file we made: removed only if still ours
    loop::Poll poll_;
    loop::Timer resume_; // watches poll_ again after pause_accepting
    std::list<std::unique_ptr<Connection>> conns_;
    loop::Graveyard<Connection> dead_; // closed outside their own callbacks
    AnswerBudget budget_;
    std::uint64_t busy_logged_ms_ = 0; // when log_busy last wrote; 0: never
    std::uint64_t busy_unlogged_ = 0;  // busy answers since
    ServerCounters counters_;
};

} // namespace enftun::control
