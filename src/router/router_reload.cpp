// Router::reload: a config reload (SIGHUP) applied to the running router.
// What each changed key takes is router_change.hpp's decision; this file
// carries it out:
//
//   prepare   a new TLS context from the files as they are now (and a new
//             CRL watch on it); if either fails to load nothing is applied
//   restart   keys kept at their running values, named in one warning
//   swap      new handshakes use the new context; sessions up keep their SSL
//             (the old context lives on as long as a handshake may use it);
//             sessions the new CRL lists are closed, as on any CRL load
//   live      limits and timeouts from the new config, at once
//   ipv4      sessions' IPv4 bindings and /32 routes as the new
//             ipv4_client_prefixes allow (router_ipv4.cpp)
#include "enftun/log/log.hpp"
#include "enftun/router/router.hpp"
#include "enftun/router/router_change.hpp"

#include <algorithm>
#include <utility>

namespace enftun::router {

namespace {

std::uint64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(d.count());
}

std::string join(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& key : keys) {
        out.append(out.empty() ? "" : ", ").append(key);
    }
    return out;
}

} // namespace

bool Router::reload(const config::RouterConfig& fresh) {
    if (stopping_) {
        return false;
    }
    const RouterChange change = classify_router_change(config_, fresh);
    config::RouterConfig next = router_config_to_apply(config_, fresh);
    auto tls = make_tls(next);
    if (!tls) {
        ENFTUN_LOG_ERROR("reload rejected: %s: the running config stays", tls.error().what);
        return false;
    }
    std::unique_ptr<CrlWatch> crl_watch;
    if (!next.crl_file.empty()) {
        auto watch = CrlWatch::create(loop_, tls->get(), next.ca_cert_file, next.crl_file,
                                      [this] { close_revoked(); });
        if (!watch) {
            ENFTUN_LOG_ERROR("reload rejected: CRL %s: %s: the running config stays",
                             next.crl_file.c_str(), watch.error().what);
            return false;
        }
        crl_watch = std::move(*watch);
    }
    if (!change.restart.empty()) {
        ENFTUN_LOG_WARN("reload: %s changed: this takes a restart of enftun-router; running on "
                        "with the old values",
                        join(change.restart).c_str());
    }
    // Handshakes started before now end within the handshake_timeout in force.
    const std::uint64_t now = loop_.now_ms();
    std::erase_if(retired_tls_, [now](const RetiredTls& r) { return r.until_ms < now; });
    retired_tls_.push_back({std::move(tls_), now + ms(config_.handshake_timeout) + 1000});
    tls_ = std::move(*tls);
    crl_watch_ = std::move(crl_watch);
    config_ = std::move(next);
    budget_.set_options({config_.max_handshakes, config_.max_handshakes_per_source,
                         ms(std::min(config_.first_byte_timeout, config_.handshake_timeout))});
    busy_poll_.set_window(config_.busy_poll_us);
    sweeper_.start(std::min<std::uint64_t>(ms(config_.idle_timeout) / 2, 5000));
    close_revoked();
    rebind_ipv4_after_reload();
    ENFTUN_LOG_INFO("reload: certificate, key, CA%s read again for new handshakes (sessions up "
                    "keep theirs: %zu)%s%s%s%s",
                    config_.crl_file.empty() ? "" : " and CRL", sessions_.size(),
                    change.tls.empty() ? "" : "; changed: ", join(change.tls).c_str(),
                    change.live.empty() ? "" : "; applied: ", join(change.live).c_str());
    return true;
}

} // namespace enftun::router
