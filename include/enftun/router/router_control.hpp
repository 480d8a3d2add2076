// RouterControl: the router's status outlets. It answers the control
// socket (router.control_socket: `status`, `status json`, `metrics`, see
// control/request.hpp) and keeps router.metrics_file up to date, both
// printed from Router::status() by router/status_format.hpp.
//
// Neither is needed to forward packets: a control socket that cannot be
// made (its folder missing, another router answering there) is logged and
// left out, and the router runs without it.
//
// Lifetime: the Loop and the Router must outlive it; destroy it before the
// Router (it removes the socket and the metrics file).
#pragma once

#include "enftun/config/router_config.hpp"
#include "enftun/control/control_server.hpp"
#include "enftun/control/metrics_file.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/router/router.hpp"

#include <memory>

namespace enftun::router {

class RouterControl {
public:
    // Starts what the config asks for (either may be off).
    RouterControl(loop::Loop& loop, const Router& router, const config::RouterConfig& config);
    // The renderers point to this: it stays where it was made.
    RouterControl(const RouterControl&) = delete;
    RouterControl& operator=(const RouterControl&) = delete;

    // Whether the control socket is being served.
    bool serving() const { return server_ != nullptr; }

private:
    // st with the control socket's counters (if it is served).
    RouterStatus with_control(RouterStatus st) const;
    // `status json`: the totals, then the session list in slices
    // (session_slicer.hpp), so a long list holds the loop one slice at a time.
    control::Answer status_json_answer(const Router& router) const;

    std::unique_ptr<control::ControlServer> server_;
    std::unique_ptr<control::MetricsFile> metrics_file_;
};

} // namespace enftun::router
