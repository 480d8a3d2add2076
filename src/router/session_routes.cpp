#include "enftun/router/session_routes.hpp"

#include "enftun/log/log.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace enftun::router {

Result<std::unique_ptr<SessionRoutes>> SessionRoutes::create(loop::Loop& loop,
                                                             netlink::RouteOwner owner) {
    auto routes = netlink::HostRoutes::create(loop, owner);
    if (!routes) {
        ENFTUN_LOG_ERROR("session routes: %s: %s", routes.error().what,
                         strerror(routes.error().sys));
        return routes.error();
    }
    // Routes of our protocol left by an earlier run would attract traffic
    // for clients that may now be on another router.
    auto stale = (*routes)->remove_all();
    if (!stale) {
        ENFTUN_LOG_ERROR("session routes: %s: %s", stale.error().what, strerror(stale.error().sys));
        return stale.error();
    }
    if (*stale > 0) {
        ENFTUN_LOG_INFO("removed %zu stale routes of protocol %u from table %u", *stale,
                        owner.protocol, owner.table);
    }
    return std::unique_ptr<SessionRoutes>(new SessionRoutes(loop, std::move(*routes)));
}

SessionRoutes::SessionRoutes(loop::Loop& loop, std::unique_ptr<netlink::HostRoutes> routes)
    : routes_(std::move(routes)), batch_(kRoutesPerSend * netlink::RouteBatch::kMaxMessage),
      sender_(loop, [this] { send_some(); }) {}

void SessionRoutes::enqueue(const proto::Ipv6Addr& addr, bool install) {
    if (stopped_) {
        return;
    }
    queue_.push_back({addr, install});
    sender_.start();
}

void SessionRoutes::send_some() {
    batch_.clear();
    const netlink::RouteOwner& owner = routes_->owner();
    while (!queue_.empty() && batch_.count() < kRoutesPerSend) {
        const Change& c = queue_.front();
        bool ok = c.install ? batch_.add_route(owner, c.addr, routes_->next_seq())
                            : batch_.delete_route(owner, c.addr, 128, routes_->next_seq());
        if (!ok) {
            break; // full: the rest goes next time
        }
        queue_.pop_front();
    }
    auto t0 = std::chrono::steady_clock::now();
    Status st = routes_->send(batch_);
    auto took = std::chrono::steady_clock::now() - t0;
    auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    send_us_ += us;
    max_send_us_ = std::max(max_send_us_, us);
    if (!st) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "session routes: %s: %s", st.error().what,
                               strerror(st.error().sys));
    } else {
        sent_ += batch_.count();
    }
    if (queue_.empty()) {
        sender_.stop();
    }
}

void SessionRoutes::stop() {
    stopped_ = true;
    queue_.clear();
    sender_.stop();
    auto removed = routes_->remove_all();
    if (!removed) {
        ENFTUN_LOG_WARN("session routes: %s: %s", removed.error().what,
                        strerror(removed.error().sys));
    } else {
        ENFTUN_LOG_INFO("removed %zu session routes", *removed);
    }
}

} // namespace enftun::router
