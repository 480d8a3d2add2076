#include "enftun/router/router_control.hpp"

#include "enftun/control/request.hpp"
#include "enftun/log/log.hpp"
#include "enftun/router/status_format.hpp"

#include <cerrno>
#include <cstring>

namespace enftun::router {

RouterControl::RouterControl(loop::Loop& loop, const Router& router,
                             const config::RouterConfig& config) {
    if (!config.control_socket.empty()) {
        control::StatusRenderers renderers{
            [this, &router] {
                return format_status_text(with_control(router.status(kTextSessions)));
            },
            [this, &router] {
                return format_status_json(with_control(router.status(kJsonSessions)));
            },
            [this, &router] { return format_metrics(with_control(router.status(0))); },
        };
        auto server = control::ControlServer::create(
            loop, config.control_socket, [renderers = std::move(renderers)](std::string_view line) {
                return control::answer_request(line, renderers);
            });
        if (server) {
            server_ = std::move(*server);
            ENFTUN_LOG_INFO("control socket %s", config.control_socket.c_str());
        } else if (server.error().sys == EADDRINUSE) {
            ENFTUN_LOG_ERROR("control socket %s: another daemon answers there (each router needs "
                             "its own router.control_socket); running without one",
                             config.control_socket.c_str());
        } else {
            ENFTUN_LOG_ERROR("control socket %s: %s: %s; running without one",
                             config.control_socket.c_str(), server.error().what,
                             std::strerror(server.error().sys));
        }
    }
    if (!config.metrics_file.empty()) {
        metrics_file_ =
            std::make_unique<control::MetricsFile>(loop, config.metrics_file, [this, &router] {
                return format_metrics(with_control(router.status(0)));
            });
        metrics_file_->start();
    }
}

RouterStatus RouterControl::with_control(RouterStatus st) const {
    if (server_) {
        st.control = server_->counters();
    }
    return st;
}

} // namespace enftun::router
