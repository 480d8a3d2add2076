#include "enroll/service.hpp"

#include "common/printable.hpp"
#include "enftun/log/log.hpp"
#include "enroll/conn_guard.hpp"
#include "enroll/fd_limit.hpp"
#include "enroll/request.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

namespace enftun::enroll {

namespace {

using Json = nlohmann::json;

constexpr time_t kReadTimeoutSeconds = 10;
constexpr time_t kWriteTimeoutSeconds = 10;
// One request per connection: httplib gives each connection a thread of
// its pool for as long as it stays open, so an idle kept-alive connection
// would hold a thread that a waiting device could use. A device makes two
// or three requests in all; the extra handshakes cost nothing that matters.
constexpr std::size_t kKeepAliveMaxCount = 1;
// Threads per listener: connections beyond this wait (in the kernel's
// accept queue, and up to enroll.max_waiting_connections accepted ones in
// BoundedPool's list) until a thread is free; more are refused. The read
// timeout counts per read: ConnectionGuard bounds a connection's whole time
// (5 s for the TLS handshake and the request header, 30 s for the rest) and
// how many threads one source holds for long (8; more get 1 s).
constexpr std::size_t kThreadsPerListener = 16;
// Descriptors besides the connections': stdio, listeners, the files the
// handlers read and write (users, state, CRL, lock), OpenSSL's.
constexpr std::uint64_t kOwnDescriptors = 64;
// The kernel's accept queue per listener. cpp-httplib 0.11 listens with a
// backlog of 5: a burst of devices (a fleet enrolling after a power cut)
// would overflow it, and each dropped SYN costs its device a 1 s, 3 s...
// retry. Full, established connections wait here before accept(); the
// kernel caps it at net.core.somaxconn.
constexpr int kListenBacklog = 128;
// After a listener failed, how long connections in flight may finish
// before they are closed and the service exits (to be restarted): a real
// device's request takes milliseconds (a login's scrypt a fraction of a
// second); without it the exit would wait for the slowest peer's
// ConnectionGuard deadlines (5 s + 30 s, and a queue of such peers after it).
constexpr std::chrono::seconds kListenerLostGrace{5};

// Sets the accept queue of httplib's bound, listening socket to
// kListenBacklog (listen() again on a listening socket changes only its
// backlog). fd is the socket httplib last created for this server, taken
// from its socket-options hook; anything else is left alone.
void raise_backlog(int fd, const std::string& name) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (fd < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 ||
        accepting != 1) {
        ENFTUN_LOG_WARN("%s: cannot find the listening socket: its accept queue stays at "
                        "cpp-httplib's 5",
                        name.c_str());
        return;
    }
    if (::listen(fd, kListenBacklog) != 0) {
        ENFTUN_LOG_WARN("%s: accept queue stays at cpp-httplib's 5: listen: %s", name.c_str(),
                        std::strerror(errno));
    }
}
// TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites all are).
constexpr const char* kTls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Failure lines come from unauthenticated peers: at most a burst per
// interval over all threads (log::RateLimit itself is not thread-safe).
std::mutex g_failure_log_mutex;
log::RateLimit g_failure_log;

[[gnu::format(printf, 2, 3)]] void log_limited(log::Level level, const char* fmt, ...) {
    std::lock_guard lock(g_failure_log_mutex);
    if (!g_failure_log.allow(log::monotonic_ms())) {
        return;
    }
    if (auto n = g_failure_log.take_suppressed()) {
        ENFTUN_LOG_INFO("(%llu similar lines suppressed)", static_cast<unsigned long long>(n));
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log::write(level, "%s", line);
}

void send_json(httplib::Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
}

void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
    log_limited(log::Level::Info, "%s %s from %s: %d %s", keygen::printable(req.method, 16).c_str(),
                keygen::printable(req.path).c_str(), req.remote_addr.c_str(), e.status,
                e.message.c_str());
    send_json(res, e.status, Json{{"error", e.message}});
}

std::string bearer_token(const httplib::Request& req) {
    const std::string value = req.get_header_value("Authorization");
    static constexpr std::string_view kPrefix = "Bearer ";
    if (value.size() <= kPrefix.size() || value.compare(0, kPrefix.size(), kPrefix) != 0) {
        return {};
    }
    return value.substr(kPrefix.size());
}

// Accept the handshake whatever the client certificate's verification
// said: /v1/renew and /v1/confirm read the result (SSL_get_verify_result) and answers 401
// with a reason, and the other endpoints do not use client certificates.
int accept_any_client_cert(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) {
    return 1;
}

bool setup_tls(SSL_CTX& ctx, const EnrollConfig& cfg) {
    ERR_clear_error();
    const bool ok =
        SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) == 1 &&
        SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) == 1 &&
        SSL_CTX_use_PrivateKey_file(&ctx, cfg.key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_use_certificate_chain_file(&ctx, cfg.cert_file.c_str()) == 1 &&
        SSL_CTX_check_private_key(&ctx) == 1 &&
        SSL_CTX_load_verify_locations(&ctx, cfg.ca_cert_file.c_str(), nullptr) == 1;
    if (!ok) {
        ENFTUN_LOG_ERROR("cannot set up TLS with %s and %s: %s", cfg.cert_file.c_str(),
                         cfg.key_file.c_str(), tls::drain_errors().c_str());
        return false;
    }
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Ask for a client certificate (renewal) but do not require one (login).
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, accept_any_client_cert);
    // No session resumption (no cache, no tickets of either kind): a
    // resumed session carries the verification result of the certificate
    // it was made with, so /v1/renew would take a certificate that has
    // since expired (for the ticket's 2 hours). A device makes two or three
    // requests in all; a full handshake each costs nothing that matters.
    SSL_CTX_set_session_cache_mode(&ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(&ctx, 0);
    // With SSL_VERIFY_PEER a session needs a session id context, else
    // OpenSSL ends a handshake that offers one with an internal_error alert.
    static constexpr unsigned char kSessionContext[] = "enftun-enroll";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1);
    if (auto* names = SSL_load_client_CA_file(cfg.ca_cert_file.c_str())) {
        SSL_CTX_set_client_CA_list(&ctx, names);
    }
    ERR_clear_error();
    return true;
}

// cpp-httplib 0.11 holds its payload limit (kMaxBodyBytes) against a
// Content-Length only: a chunked body, one read until the end of the
// connection (a body-carrying method without Content-Length) and the
// decompressed form of a gzip or brotli body grow without a bound. So a
// request whose body httplib would read comes with one Content-Length
// (httplib answers 413 above the limit) and no Transfer-Encoding or
// Content-Encoding; anything else is refused before a byte of its body is
// read. Returns the refusal, or nothing for a request whose body is fine.
std::optional<ApiError> body_framing_error(const httplib::Request& req) {
    if (req.has_header("Transfer-Encoding")) {
        return ApiError{411, "Transfer-Encoding is not accepted: send the body with a "
                             "Content-Length"};
    }
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (req.get_header_value_count("Content-Encoding") > 1 ||
        (!encoding.empty() && encoding != "identity")) {
        return ApiError{415, "Content-Encoding is not accepted: send the body as it is"};
    }
    static constexpr std::string_view kBodyMethods[] = {"POST", "PUT", "PATCH", "DELETE", "PRI"};
    const bool has_body = std::find(std::begin(kBodyMethods), std::end(kBodyMethods), req.method) !=
                          std::end(kBodyMethods);
    if (has_body && req.get_header_value_count("Content-Length") != 1) {
        return ApiError{411, "the request needs one Content-Length"};
    }
    return std::nullopt;
}

std::string http_error_message(int status) {
    switch (status) {
    case 400:
        return "malformed HTTP request";
    case 404:
        return "no such endpoint";
    case 413:
        return "request body larger than 65536 bytes";
    default:
        return "request refused (HTTP " + std::to_string(status) + ")";
    }
}

// httplib's task queue: a BoundedPool instead of httplib's ThreadPool,
// whose job list has no bound. httplib calls shutdown() as soon as its
// listen loop ends, and its listen call returns only after that (the
// connections in flight done): loop_ended runs first, so the service
// learns of a failed listener at once.
class BoundedTaskQueue final : public httplib::TaskQueue {
public:
    BoundedTaskQueue(std::size_t threads, std::size_t max_waiting, BoundedPool::RefuseFn refuse,
                     std::function<void()> loop_ended)
        : pool_(threads, max_waiting, std::move(refuse)), loop_ended_(std::move(loop_ended)) {}
    void enqueue(std::function<void()> fn) override { pool_.enqueue(std::move(fn)); }
    void shutdown() override {
        loop_ended_();
        pool_.shutdown();
    }

private:
    BoundedPool pool_;
    std::function<void()> loop_ended_;
};

Json certificate_body(const Certificate& c, const Ca& ca) {
    Json body{{"address", c.address.to_string()}, {"certificate", c.pem}, {"ca", ca.cert_pem()}};
    if (c.ipv4) {
        body["ipv4"] = keygen::format_ipv4(*c.ipv4);
    }
    return body;
}

// " and 198.18.0.2" for a log line; "" without IPv4.
std::string ipv4_suffix(const Certificate& c) {
    return c.ipv4 ? " and " + keygen::format_ipv4(*c.ipv4) : "";
}

// An enrolment EnrolRate::take() gave; handed back when the request ends
// without keep() (it failed).
class EnrolSlot {
public:
    EnrolSlot(EnrolRate& rate, const std::string& user) : rate_(rate), user_(user) {}
    ~EnrolSlot() {
        if (!kept_) {
            rate_.give_back(user_);
        }
    }
    EnrolSlot(const EnrolSlot&) = delete;
    EnrolSlot& operator=(const EnrolSlot&) = delete;
    void keep() { kept_ = true; }

private:
    EnrolRate& rate_;
    const std::string& user_;
    bool kept_ = false;
};

// What the client certificate of a mutual-TLS request names.
struct PeerCertificate {
    std::string serial;
    proto::Ipv6Addr address;
    std::optional<proto::Ipv4Addr> ipv4;
};

// The client certificate, verified by the handshake against the CA.
// Errors: 401 none, not verified, no IPv6 address, more than one IPv4.
ApiResult<PeerCertificate> peer_certificate(const httplib::Request& req) {
    const SSL* ssl = req.ssl;
    tls::X509Ptr peer(ssl != nullptr ? SSL_get1_peer_certificate(ssl) : nullptr);
    if (!peer) {
        return ApiError{401, "no client certificate"};
    }
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        return ApiError{401, std::string("client certificate not accepted: ") +
                                 X509_verify_cert_error_string(verify)};
    }
    const auto address = keygen::san_ipv6(peer.get());
    if (!address) {
        return ApiError{401, "client certificate names no IPv6 address"};
    }
    const auto ipv4s = keygen::san_ipv4s(peer.get());
    if (ipv4s.size() > 1) {
        return ApiError{401, "client certificate names more than one IPv4 address"};
    }
    return PeerCertificate{keygen::serial_hex(X509_get0_serialNumber(peer.get())), *address,
                           ipv4s.empty() ? std::nullopt : std::optional(ipv4s.front())};
}

} // namespace

Service::Service(const EnrollConfig& cfg, const Ca& ca, Registry& registry)
    : cfg_(cfg), ca_(ca), registry_(registry), enrol_rate_(cfg.max_enrolments_per_hour) {
    auto dummy = hash_password("no user has this password");
    dummy_hash_ = dummy ? *dummy : std::string();
}

Service::~Service() = default;

bool Service::check_login(const std::string& user, const std::string& password) {
    auto users = load_users(cfg_.users_file);
    if (!users) {
        // Any peer can make us read the file: rate-limited like its refusals.
        log_limited(log::Level::Error, "%s", users.error().message.c_str());
        return false;
    }
    const auto it = users->find(user);
    kdf_slots_.acquire();
    // An unknown user costs the same scrypt run: the answer's timing does
    // not tell which names exist.
    const bool ok = verify_password(password, it != users->end() ? it->second : dummy_hash_) &&
                    it != users->end();
    kdf_slots_.release();
    return ok;
}

void Service::refuse(BoundedPool::Job& job, const BoundedPool::Stats& stats) {
    guard_->run_refused(job);
    log_limited(log::Level::Warn,
                "connection refused: %zu running and %zu waiting (enroll.max_waiting_connections); "
                "%llu refused since the start",
                stats.running, stats.waiting, static_cast<unsigned long long>(stats.refused));
}

void Service::on_login(const httplib::Request& req, httplib::Response& res) {
    if (!limiter_.allowed(req.remote_addr)) {
        return send_error(req, res, {429, "too many failed logins from this address; retry later"});
    }
    auto login = parse_login(req.body);
    if (!login) {
        return send_error(req, res, login.error());
    }
    if (!check_login(login->user, login->password)) {
        limiter_.record_failure(req.remote_addr);
        return send_error(req, res, {401, "wrong user or password"});
    }
    const std::string token = tokens_.issue(login->user);
    if (token.empty()) {
        return send_error(req, res, {500, "internal error; see the service's log"});
    }
    ENFTUN_LOG_INFO("login: %s from %s", login->user.c_str(), req.remote_addr.c_str());
    send_json(res, 200, Json{{"token", token}, {"expires_in", TokenStore::kTokenLifetime.count()}});
}

void Service::on_enroll(const httplib::Request& req, httplib::Response& res) {
    // One certificate per token: the claim makes a concurrent request with
    // the same token a 401; it is consumed once the certificate is
    // recorded, and handed back (good until it expires) when this request
    // fails.
    const std::string token = bearer_token(req);
    TokenStore::Refusal refusal{};
    const auto user = tokens_.claim(token, &refusal);
    if (!user) {
        return send_error(req, res, {401, TokenStore::message(refusal)});
    }
    TokenClaim claim(tokens_, token);
    if (const std::uint32_t wait = enrol_rate_.take(*user)) {
        res.set_header("Retry-After", std::to_string(wait));
        return send_error(req, res,
                          {429, "user " + *user + " has used its " +
                                    std::to_string(cfg_.max_enrolments_per_hour) +
                                    " enrolments per hour (enroll.max_enrolments_per_hour); "
                                    "retry in " +
                                    std::to_string(wait) + " s"});
    }
    // Handed back unless the certificate is issued: a refusal costs nothing.
    EnrolSlot slot(enrol_rate_, *user);
    auto parsed = parse_enroll(req.body);
    if (!parsed) {
        return send_error(req, res, parsed.error());
    }
    auto cert = registry_.enroll(*user, parsed->request, parsed->ipv4, parsed->csr.key.get());
    if (!cert) {
        return send_error(req, res, cert.error());
    }
    slot.keep();
    claim.consume();
    ENFTUN_LOG_INFO("enrolled %s%s (request %s%s, serial %s) for %s from %s",
                    cert->address.to_string().c_str(), ipv4_suffix(*cert).c_str(),
                    parsed->request.to_string().c_str(),
                    parsed->ipv4 ? (", ipv4 " + parsed->ipv4->to_string()).c_str() : "",
                    cert->serial.c_str(), user->c_str(), req.remote_addr.c_str());
    send_json(res, 200, certificate_body(*cert, ca_));
}

void Service::on_renew(const httplib::Request& req, httplib::Response& res) {
    auto peer = peer_certificate(req);
    if (!peer) {
        return send_error(req, res, peer.error());
    }
    auto parsed = parse_renew(req.body);
    if (!parsed) {
        return send_error(req, res, parsed.error());
    }
    const std::string& old_serial = peer->serial;
    const proto::Ipv6Addr& address = peer->address;
    auto cert = registry_.renew(old_serial, address, peer->ipv4, parsed->csr.key.get());
    if (!cert) {
        return send_error(req, res, cert.error());
    }
    ENFTUN_LOG_INFO("renewed %s%s (serial %s -> %s%s) from %s", address.to_string().c_str(),
                    ipv4_suffix(*cert).c_str(), old_serial.c_str(), cert->serial.c_str(),
                    cert->resent ? ", sent again: the same key retried" : "",
                    req.remote_addr.c_str());
    send_json(res, 200, certificate_body(*cert, ca_));
}

void Service::on_confirm(const httplib::Request& req, httplib::Response& res) {
    auto peer = peer_certificate(req);
    if (!peer) {
        return send_error(req, res, peer.error());
    }
    auto retired = registry_.confirm(peer->serial, peer->address, peer->ipv4);
    if (!retired) {
        return send_error(req, res, retired.error());
    }
    // A confirm that retires nothing (a device may repeat it at will) is
    // logged at debug level only.
    if (*retired > 0) {
        ENFTUN_LOG_INFO("confirmed %s (serial %s): %zu older certificate(s) retired from %s",
                        peer->address.to_string().c_str(), peer->serial.c_str(), *retired,
                        req.remote_addr.c_str());
    } else {
        ENFTUN_LOG_DEBUG("confirmed %s (serial %s): nothing left to retire, from %s",
                         peer->address.to_string().c_str(), peer->serial.c_str(),
                         req.remote_addr.c_str());
    }
    send_json(res, 200, Json{{"address", peer->address.to_string()}, {"retired", *retired}});
}

std::unique_ptr<httplib::SSLServer> Service::make_server(std::size_t index,
                                                         std::shared_ptr<int> listening_fd) {
    auto server = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
        if (!setup_tls(ctx, cfg_)) {
            return false;
        }
        guard_->attach(ctx);
        return true;
    });
    if (!server->is_valid()) {
        return nullptr;
    }
    server->set_payload_max_length(kMaxBodyBytes);
    server->set_read_timeout(kReadTimeoutSeconds, 0);
    server->set_write_timeout(kWriteTimeoutSeconds, 0);
    server->set_keep_alive_max_count(kKeepAliveMaxCount);
    // httplib takes ownership (its listen loop holds it in a unique_ptr).
    server->new_task_queue = [this, index] {
        return new BoundedTaskQueue(
            kThreadsPerListener, cfg_.max_waiting_connections,
            [this](BoundedPool::Job& job, const BoundedPool::Stats& s) { refuse(job, s); },
            [this, index] { on_loop_ended(index); });
    };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let
    // a second instance share the port without an error.
    // The hook sees the socket bind_to_port() then binds and listens on:
    // bind() raises its backlog (raise_backlog).
    server->set_socket_options([listening_fd](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        *listening_fd = sock;
    });
    // The request header is in: the guard's longer deadline from now on,
    // and the body is read only in a form whose size is bounded.
    server->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        guard_->header_done();
        if (auto refused = body_framing_error(req)) {
            send_error(req, res, *refused);
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    server->Post("/v1/login", [this](const auto& req, auto& res) { on_login(req, res); });
    server->Post("/v1/enroll", [this](const auto& req, auto& res) { on_enroll(req, res); });
    server->Post("/v1/renew", [this](const auto& req, auto& res) { on_renew(req, res); });
    server->Post("/v1/confirm", [this](const auto& req, auto& res) { on_confirm(req, res); });
    // Anything without a body of its own (404, 405, 413, 400 from httplib's
    // parser) gets the API's JSON error shape.
    server->set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) {
                return httplib::Server::HandlerResponse::Unhandled;
            }
            send_error(req, res, {res.status, http_error_message(res.status)});
            return httplib::Server::HandlerResponse::Handled;
        }));
    server->set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
            send_error(req, res, {500, "internal error; see the service's log"});
        });
    return server;
}

keygen::Outcome<void> Service::bind() {
    // Per listener: its threads' and waiting connections, and one being refused.
    const std::uint64_t per_listener = kThreadsPerListener + cfg_.max_waiting_connections + 1;
    const std::string why = std::to_string(cfg_.listen.size()) + " listener(s) x (" +
                            std::to_string(kThreadsPerListener) + " threads + " +
                            std::to_string(cfg_.max_waiting_connections) +
                            " enroll.max_waiting_connections + 1) and the service's own files";
    if (auto fds = ensure_fd_limit(cfg_.listen.size() * per_listener + kOwnDescriptors, why);
        !fds) {
        return fds.error();
    }
    for (const auto& host : cfg_.listen) {
        auto listening_fd = std::make_shared<int>(-1);
        auto server = make_server(servers_.size(), listening_fd);
        if (!server) {
            return keygen::Failure{"cannot set up TLS (see above)"};
        }
        if (!server->bind_to_port(host, cfg_.port)) {
            return keygen::Failure{"cannot listen on [" + host + "]:" + std::to_string(cfg_.port) +
                                   ": " + std::strerror(errno)};
        }
        const std::string name = "[" + host + "]:" + std::to_string(cfg_.port);
        raise_backlog(*listening_fd, name);
        ENFTUN_LOG_INFO("listening on %s", name.c_str());
        servers_.push_back(std::move(server));
        server_names_.push_back(name);
    }
    return {};
}

bool Service::run() {
    const std::size_t n = servers_.size();
    std::vector<bool> finished(n, false); // under run_mutex_
    bool failed = false;                  // under run_mutex_
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(run_mutex_);
        lost_.assign(n, false);
        loop_ended_.assign(n, false);
    }
    for (std::size_t i = 0; i < n; ++i) {
        threads.emplace_back([this, i, &finished, &failed] {
            const bool ok = servers_[i]->listen_after_bind();
            std::lock_guard lock(run_mutex_);
            finished[i] = true;
            if (!stopping_) {
                lose_listener(i); // its loop ended without our task queue's shutdown()
            }
            if (lost_[i]) {
                on_listener_lost(i, ok);
                failed = true;
            }
            run_wake_.notify_all();
        });
    }
    std::vector<bool> stopped(n, false);
    std::unique_lock lock(run_mutex_);
    while (std::find(finished.begin(), finished.end(), false) != finished.end()) {
        if (!stopping_) {
            run_wake_.wait(lock);
            continue;
        }
        // httplib's stop() does nothing to a listener whose loop has not
        // started yet (it would then serve for ever): such a one is stopped
        // on a later round. Each one once, and none whose loop has ended
        // (a failed one's socket httplib closed itself; it returns once its
        // connections are done): a second close would hit the socket's
        // number again, maybe reused by then.
        for (std::size_t i = 0; i < n; ++i) {
            if (!finished[i] && !stopped[i] && !loop_ended_[i] && servers_[i]->is_running()) {
                servers_[i]->stop();
                stopped[i] = true;
            }
        }
        run_wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
    lock.unlock();
    for (auto& t : threads) {
        t.join();
    }
    return !failed;
}

void Service::on_loop_ended(std::size_t index) {
    std::lock_guard lock(run_mutex_);
    loop_ended_[index] = true;
    if (!stopping_) {
        lose_listener(index);
        run_wake_.notify_all();
    }
}

void Service::lose_listener(std::size_t index) {
    lost_[index] = true;
    stopping_ = true;
    // run() stops the other listeners; their connections and this one's
    // get kListenerLostGrace to finish, then the guard closes them, so
    // that every listen call returns and the service exits soon.
    guard_->close_all_by(ConnectionGuard::Clock::now() + kListenerLostGrace);
}

void Service::on_listener_lost(std::size_t index, bool loop_ok) {
    // cpp-httplib 0.11 ends its listen loop on any accept() error but
    // EMFILE, EINTR and EAGAIN (ENFILE, ENOBUFS, ENOMEM, EINVAL after a
    // shutdown of the socket...), closing the socket, and keeps the errno
    // to itself.
    ENFTUN_LOG_ERROR("listener %s stopped: %s; stopping the other listeners and exiting, to be "
                     "restarted (connections in flight got %lld s to finish)",
                     server_names_[index].c_str(),
                     loop_ok ? "its listen loop ended without an error"
                             : "accept() failed (cpp-httplib closed the listening socket and "
                               "does not report the error number)",
                     static_cast<long long>(kListenerLostGrace.count()));
}

void Service::stop() {
    std::lock_guard lock(run_mutex_);
    stopping_ = true;
    run_wake_.notify_all();
}

} // namespace enftun::enroll
