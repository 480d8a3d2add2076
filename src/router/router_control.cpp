#include "enftun/router/router_control.hpp"

#include "enftun/control/request.hpp"
#include "enftun/log/log.hpp"
#include "enftun/router/session_slicer.hpp"
#include "enftun/router/status_format.hpp"

#include <algorithm>

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
            {}, // status json: status_json_answer(), in slices
            [this, &router] { return format_metrics(with_control(router.status(0))); },
        };
        auto server = control::ControlServer::create(
            loop, config.control_socket,
            [this, &router,
             renderers = std::move(renderers)](std::string_view line) -> control::Answer {
                auto kind = control::parse_request(line);
                if (kind && *kind == control::RequestKind::StatusJson) {
                    return status_json_answer(router);
                }
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

// The totals now, then the sessions of this moment in slices of kJsonSlice,
// each looked up again by its address when its slice is written.
control::Answer RouterControl::status_json_answer(const Router& router) const {
    RouterStatus head = with_control(router.status(0));
    std::vector<proto::Ipv6Addr> addresses = router.session_addresses(kJsonSessions);
    const std::size_t omitted = head.sessions - std::min(head.sessions, addresses.size());
    const std::size_t listed = addresses.size();
    SessionSlicer slicer(std::move(addresses), omitted,
                         [&router](const proto::Ipv6Addr& a) { return router.session_status(a); });
    control::Answer answer(
        format_status_json_head(head),
        [slicer = std::move(slicer)](std::string& out) mutable { return slicer.next(out); });
    answer.size_hint = answer.text.size() + listed * kSessionJsonBytes;
    return answer;
}

RouterStatus RouterControl::with_control(RouterStatus st) const {
    if (server_) {
        st.control = server_->counters();
    }
    return st;
}

} // namespace enftun::router
