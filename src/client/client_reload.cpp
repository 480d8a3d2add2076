// Client::reload and its steps: a config reload (SIGHUP) applied to the
// running client. What each changed key takes is config_change.hpp's
// decision; this file only carries it out:
//
//   prepare   a new TlsContext when the CA, pins or identity changed; if it
//             does not load (or names another address) nothing is applied
//   restart   keys kept at their running values, named in one warning
//   live      heartbeat, backoff, connector and busy-poll settings, the RA
//             period: set on the running modules
//   reconnect the tunnel (or the attempt in progress) starts over once
#include "enftun/client/client.hpp"
#include "enftun/client/config_change.hpp"
#include "enftun/log/log.hpp"
#include "enftun/tls/identity.hpp"

#include <utility>

namespace enftun::tunnel {

namespace {

std::uint64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(d.count());
}

bool needs_new_tls(const ConfigChange& change) {
    for (const auto& key : change.reconnect) {
        if (key == "remote.ca_cert_file" || key == "remote.pin_sha256" ||
            key.starts_with("identity.")) {
            return true;
        }
    }
    return false;
}

} // namespace

Result<tls::TlsContext> Client::make_tls(const config::ClientConfig& config) {
    tls::PeerPolicy policy;
    for (const auto& pin : config.remote.pin_sha256) {
        if (auto digest = tls::parse_sha256_hex(pin)) { // the config loader checked it
            policy.pins.push_back(*digest);
        }
    }
    return tls::TlsContext::create(
        tls::Role::Client,
        {config.remote.ca_cert_file, config.identity.cert_file, config.identity.key_file},
        std::move(policy), tls::tpm_settings(config.identity));
}

bool Client::reload(const config::ClientConfig& fresh) {
    const ConfigChange change = classify_change(config_, fresh);
    config::ClientConfig next = config_to_apply(config_, fresh);
    std::optional<tls::TlsContext> tls;
    if (needs_new_tls(change)) {
        auto addr = tls::address_from_cert_file(next.identity.cert_file);
        if (addr && !(*addr == self_)) {
            ENFTUN_LOG_ERROR("reload rejected: identity %s holds %s, not %s: restart enftun to "
                             "change address; the running config stays",
                             next.identity.cert_file.c_str(), addr->to_string().c_str(),
                             self_.to_string().c_str());
            return false;
        }
        auto made = addr ? make_tls(next) : Result<tls::TlsContext>(addr.error());
        if (!made) {
            ENFTUN_LOG_ERROR("reload rejected: CA %s or identity %s: %s: the running config stays",
                             next.remote.ca_cert_file.c_str(), next.identity.cert_file.c_str(),
                             made.error().what);
            return false;
        }
        tls.emplace(std::move(*made));
    }
    // The same names, new contents (a CA or identity replaced in place):
    // the watch notices and builds the context (or logs why it cannot).
    bool files_changed = false;
    if (!tls) {
        tls = identity_.reload(tls_.policy());
        files_changed = tls.has_value();
    }
    if (!change.restart.empty()) {
        ENFTUN_LOG_WARN("reload: %s changed: this takes a restart of enftun (and enftun-setup); "
                        "running on with the old values",
                        join_keys(change.restart).c_str());
    }
    if (change.empty() && !files_changed) {
        ENFTUN_LOG_INFO("reload: nothing changed");
        return true;
    }
    config_ = std::move(next);
    apply_live_settings(change.changed("route.ra_period"));
    if (!change.live.empty()) {
        ENFTUN_LOG_INFO("reload: applied %s", join_keys(change.live).c_str());
    }
    if (!change.reconnect.empty()) {
        if (tls) {
            identity_.retarget(config_.identity, config_.remote.ca_cert_file);
            replace_tls(std::move(*tls));
        }
        reconnect_for_reload(join_keys(change.reconnect));
    } else if (files_changed) {
        replace_tls(std::move(*tls));
        reconnect_for_reload("the contents of the CA or identity files");
    }
    return true;
}

// Every live setting from config_, whether it changed or not (the
// connector's are those of the next connection, so a reconnect needs them
// too): each setter is idempotent; the RA period's sends an RA, hence the flag.
void Client::apply_live_settings(bool ra_period_changed) {
    const auto& remote = config_.remote;
    heartbeat_.set_timing(ms(remote.heartbeat_period), ms(remote.heartbeat_timeout));
    backoff_.set_options({.cap_ms = ms(remote.reconnect_max_delay),
                          .stable_ms = ms(remote.reconnect_stable_period)});
    connector_.set_options(
        {remote.hosts, remote.port, config_.route.fwmark, ms(remote.connect_timeout),
         conn::tcp_liveness_for(ms(remote.heartbeat_period), ms(remote.heartbeat_timeout))});
    busy_poll_.set_window(config_.tun.busy_poll_us);
    if (ra_period_changed) {
        router_card_.set_ra_period(ms(config_.route.ra_period));
    }
}

// Once, without backoff: the tunnel up (or handshaking) is closed and the
// next attempt starts at once; an attempt connecting starts over; a wait
// between attempts is cut short.
void Client::reconnect_for_reload(const std::string& keys) {
    if (state_ == ClientState::Stopped) {
        return;
    }
    backoff_.reset();
    save_backoff(); // a retry without back-off: no record (client_backoff.cpp)
    if (link_) {
        ENFTUN_LOG_INFO("reload: %s changed: reconnecting", keys.c_str());
        reconnect_now_ = true;
        link_->shutdown();
        on_link_down("config reloaded");
        return;
    }
    if (connector_.busy()) {
        ENFTUN_LOG_INFO("reload: %s changed: connecting again", keys.c_str());
        connector_.start();
        return;
    }
    ENFTUN_LOG_INFO("reload: %s changed: connecting now", keys.c_str());
    retry_soon();
}

} // namespace enftun::tunnel
