// ClientControl: the client's control socket (`enftun status`, control/) and
// metrics file (tun.control_socket, tun.metrics_file). It answers each
// request with a fresh Client::snapshot() rendered by client_status.hpp.
// Neither is needed to carry packets: one that cannot be set up is logged
// (a warning) and the client runs without it.
//
// Lifetime: borrows the Loop and the Client, which must outlive it (main
// declares it after the client).
#pragma once

#include "enftun/client/client.hpp"
#include "enftun/client/client_status.hpp"
#include "enftun/config/client_config.hpp"
#include "enftun/control/control_server.hpp"
#include "enftun/control/metrics_file.hpp"
#include "enftun/loop/loop.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace enftun::tunnel {

class ClientControl {
public:
    ClientControl(loop::Loop& loop, const config::ClientConfig& config, const Client& client);
    ~ClientControl();
    ClientControl(const ClientControl&) = delete;
    ClientControl& operator=(const ClientControl&) = delete;

    // Opens the socket and writes the first metrics file.
    void start();

    // The answer to one request line (control/request.hpp).
    std::string answer(std::string_view request);

private:
    StatusContext context();

    loop::Loop& loop_;     // outlives this
    const Client& client_; // outlives this
    std::string socket_path_;
    std::optional<std::string> metrics_path_;
    std::string cert_file_;
    std::int64_t started_at_;
    // notAfter of cert_file_, read again when the file changes (renewal).
    std::optional<std::int64_t> not_after_;
    ino_t cert_ino_ = 0;
    std::int64_t cert_mtime_ns_ = -1;
    std::unique_ptr<control::ControlServer> server_;
    std::unique_ptr<control::MetricsFile> metrics_;
};

} // namespace enftun::tunnel
