#include "enftun/router/session_routes.hpp"

#include "enftun/fs/atomic_file.hpp"
#include "enftun/fs/small_file.hpp"
#include "enftun/log/log.hpp"
#include "enftun/router/route_record.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace enftun::router {

namespace {

// Routes another run recorded (route_record.hpp) with a table or protocol
// other than ours: after a crash and a config change, nothing else finds
// them. No record, or one that is not ours here, deletes nothing.
void remove_recorded(netlink::HostRoutes& routes, const std::string& path) {
    auto text = fs::read_small_file(path, 512);
    if (!text) {
        if (text.error().sys != ENOENT) {
            ENFTUN_LOG_WARN("route record %s: %s: %s; left alone", path.c_str(), text.error().what,
                            strerror(text.error().sys));
        }
        return;
    }
    auto record = parse_route_record(*text);
    if (!record) {
        ENFTUN_LOG_WARN("route record %s: not a record of enftun-router; left alone", path.c_str());
        return;
    }
    const netlink::RouteOwner& owner = routes.owner();
    if ((record->table == owner.table && record->protocol == owner.protocol) ||
        !record_is_ours_here(*record)) {
        return; // ours: remove_all() did it; or another boot's, namespace's or interface's
    }
    auto removed = routes.remove_on(record->table, record->protocol, record->ifindex);
    if (!removed) {
        ENFTUN_LOG_WARN("route record %s: %s: %s", path.c_str(), removed.error().what,
                        strerror(removed.error().sys));
    } else if (*removed > 0) {
        ENFTUN_LOG_INFO("removed %zu stale routes of protocol %u from table %u on %s (recorded "
                        "by an earlier run)",
                        *removed, static_cast<unsigned>(record->protocol), record->table,
                        record->ifname.c_str());
    }
}

// Written before the first route is added: a crash after any route leaves
// the record that finds it.
bool write_record(const std::string& path, const netlink::RouteOwner& owner) {
    auto record = route_record_here(owner.ifindex, owner.table, owner.protocol);
    if (!record) {
        ENFTUN_LOG_WARN("route record %s: cannot name this namespace and TUN: %s", path.c_str(),
                        strerror(errno));
        return false;
    }
    if (auto st = fs::write_file_atomically(path, format_route_record(*record), 0644); !st) {
        ENFTUN_LOG_WARN("route record: %s (a restart after a crash finds the routes only in "
                        "the configured table and protocol)",
                        st.error().message.c_str());
        return false;
    }
    return true;
}

} // namespace

Result<std::unique_ptr<SessionRoutes>>
SessionRoutes::create(loop::Loop& loop, netlink::RouteOwner owner, const std::string& record_path) {
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
    std::unique_ptr<SessionRoutes> self(new SessionRoutes(loop, std::move(*routes)));
    if (!record_path.empty()) {
        remove_recorded(*self->routes_, record_path);
        if (write_record(record_path, owner)) {
            self->record_path_ = record_path;
        }
    }
    return self;
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
        // Nothing left to find; a failed removal keeps it for the next start.
        if (!record_path_.empty() && ::unlink(record_path_.c_str()) != 0 && errno != ENOENT) {
            ENFTUN_LOG_WARN("cannot remove %s: %s", record_path_.c_str(), strerror(errno));
        }
    }
}

} // namespace enftun::router
