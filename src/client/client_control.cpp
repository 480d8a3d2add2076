#include "enftun/client/client_control.hpp"

#include "enftun/control/request.hpp"
#include "enftun/log/log.hpp"
#include "enftun/tls/cert_expiry.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

namespace enftun::tunnel {

ClientControl::ClientControl(loop::Loop& loop, const config::ClientConfig& config,
                             const Client& client)
    : loop_(loop), client_(client), socket_path_(config.tun.control_socket),
      metrics_path_(config.tun.metrics_file), cert_file_(config.identity.cert_file),
      started_at_(static_cast<std::int64_t>(std::time(nullptr))) {}

ClientControl::~ClientControl() = default;

void ClientControl::start() {
    if (!socket_path_.empty()) {
        auto server = control::ControlServer::create(
            loop_, socket_path_, [this](std::string_view line) { return answer(line); });
        if (server) {
            server_ = std::move(*server);
            ENFTUN_LOG_INFO("control socket %s", socket_path_.c_str());
        } else {
            const Error& e = server.error();
            ENFTUN_LOG_WARN("control socket %s: %s%s%s; `enftun status` will not reach this "
                            "daemon",
                            socket_path_.c_str(), e.what, e.sys != 0 ? ": " : "",
                            e.sys == EADDRINUSE ? "in use (another daemon or socket is there)"
                            : e.sys == EEXIST   ? "a file that is not a socket is in the way"
                            : e.sys != 0        ? std::strerror(e.sys)
                                                : "");
        }
    }
    if (metrics_path_) {
        metrics_ = std::make_unique<control::MetricsFile>(loop_, *metrics_path_, [this] {
            return render_status_metrics(client_.snapshot(), context());
        });
        metrics_->start();
    }
}

std::string ClientControl::answer(std::string_view request) {
    control::StatusRenderers renderers{
        [this] { return render_status_text(client_.snapshot(), context()); },
        [this] { return render_status_json(client_.snapshot(), context()); },
        [this] { return render_status_metrics(client_.snapshot(), context()); }};
    return control::answer_request(request, renderers);
}

StatusContext ClientControl::context() {
    StatusContext ctx;
    ctx.now = static_cast<std::int64_t>(std::time(nullptr));
    ctx.started_at = started_at_;
    ctx.pid = static_cast<std::int64_t>(::getpid());
    ctx.cert_file = cert_file_;
    // A stat per request; the certificate is parsed again only when a
    // renewal replaced it (enftun-keygen --renew renames a new file in).
    struct stat st {};
    if (::stat(cert_file_.c_str(), &st) == 0) {
        std::int64_t mtime_ns =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
        if (st.st_ino != cert_ino_ || mtime_ns != cert_mtime_ns_) {
            cert_ino_ = st.st_ino;
            cert_mtime_ns_ = mtime_ns;
            auto not_after = tls::cert_not_after(cert_file_);
            not_after_ = not_after ? std::optional<std::int64_t>(*not_after) : std::nullopt;
        }
    }
    ctx.cert_not_after = not_after_;
    if (server_) {
        ctx.control = server_->counters();
    }
    return ctx;
}

} // namespace enftun::tunnel
