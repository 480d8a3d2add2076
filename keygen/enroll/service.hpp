// The HTTPS service: the /v1/ handlers of notes/enroll-api.md on top of
// cpp-httplib's SSLServer, one server (and its thread pool) per listen
// address, all sharing one Service. Owns the per-request policy: token
// checks, failed-login limits, body size limit, one log line per outcome
// (failures rate-limited), JSON error bodies.
//
// Threads: httplib calls the handlers from its pool; TokenStore,
// LoginLimiter, EnrolRate and Registry are thread-safe, the rest is read-only.
#pragma once

#include "enroll/bounded_pool.hpp"
#include "enroll/ca.hpp"
#include "enroll/conn_guard.hpp"
#include "enroll/enrol_rate.hpp"
#include "enroll/enroll_config.hpp"
#include "enroll/login_limiter.hpp"
#include "enroll/password.hpp"
#include "enroll/registry.hpp"
#include "enroll/tokens.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <vector>

namespace httplib {
class SSLServer;
struct Request;
struct Response;
} // namespace httplib

namespace enftun::enroll {

class Service {
public:
    // cfg, ca and registry must outlive the Service.
    Service(const EnrollConfig& cfg, const Ca& ca, Registry& registry);
    ~Service();

    // Binds every listen address (nothing is served yet). Errors: bad
    // certificate or key files, a port that cannot be bound.
    keygen::Outcome<void> bind();
    // Serves until stop() (blocks; call from the main thread). Returns true
    // after stop(), once every connection in flight is done; false when a
    // listener stopped by itself (httplib closes its socket on an accept()
    // error but EMFILE, EINTR, EAGAIN): logged, and the other listeners are
    // stopped first, so that the caller can exit non-zero instead of serving
    // on fewer addresses (or none) unnoticed. Then connections still open
    // 5 s after the failure are closed (ConnectionGuard::close_all_by), so
    // that slow peers do not hold the exit (and the restart) for their
    // deadlines.
    bool run();
    // From any thread (the signal waiter).
    void stop();

private:
    void on_login(const httplib::Request& req, httplib::Response& res);
    void on_enroll(const httplib::Request& req, httplib::Response& res);
    void on_renew(const httplib::Request& req, httplib::Response& res);
    void on_confirm(const httplib::Request& req, httplib::Response& res);
    bool check_login(const std::string& user, const std::string& password);
    // A listener's pool is full: job's connection is closed in its handshake.
    void refuse(BoundedPool::Job& job, const BoundedPool::Stats& stats);
    // index: its place in servers_. *listening_fd: set to the socket the
    // server then binds.
    std::unique_ptr<httplib::SSLServer> make_server(std::size_t index,
                                                    std::shared_ptr<int> listening_fd);
    // Listener index's loop ended (its task queue's shutdown()): lost,
    // unless stopping_.
    void on_loop_ended(std::size_t index);
    // Marks listener index lost and starts the stop (under run_mutex_).
    void lose_listener(std::size_t index);
    // Logs why listener index stopped by itself (under run_mutex_).
    void on_listener_lost(std::size_t index, bool loop_ok);

    const EnrollConfig& cfg_;
    const Ca& ca_;
    Registry& registry_;
    TokenStore tokens_;
    LoginLimiter limiter_;
    EnrolRate enrol_rate_;
    // At most two scrypt computations at once: 2 x 32 MiB, and the CPU
    // time a login flood can take is bounded the same way.
    std::counting_semaphore<2> kdf_slots_{2};
    std::string dummy_hash_; // checked for unknown users: same timing
    // Declared before servers_: outlives their SSL_CTXs and connections.
    std::unique_ptr<ConnectionGuard> guard_ =
        std::make_unique<ConnectionGuard>(ConnectionGuard::Limits{});
    std::vector<std::unique_ptr<httplib::SSLServer>> servers_;
    std::vector<std::string> server_names_; // "[host]:port", as servers_

    // run()'s state, under run_mutex_: set by stop() or a failed listener.
    std::mutex run_mutex_;
    std::condition_variable run_wake_;
    bool stopping_ = false;
    std::vector<bool> lost_;       // per listener: stopped by itself
    std::vector<bool> loop_ended_; // per listener: its listen loop is over
};

} // namespace enftun::enroll
