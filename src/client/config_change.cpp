#include "enftun/client/config_change.hpp"

#include <algorithm>
#include <utility>

namespace enftun::tunnel {

namespace {

struct KindRow {
    std::string_view key; // a key, or a group prefix ending in '.'
    ChangeKind kind;
};

// First match wins: exact keys before their group's prefix. log.level
// (issue 16, ops-notify) is Live: the reload's caller applies it.
constexpr KindRow kKinds[] = {
    {"tun.busy_poll_us", ChangeKind::Live},
    {"remote.heartbeat_period", ChangeKind::Live},
    {"remote.heartbeat_timeout", ChangeKind::Live},
    {"remote.connect_timeout", ChangeKind::Live},
    {"remote.reconnect_max_delay", ChangeKind::Live},
    {"remote.reconnect_stable_period", ChangeKind::Live},
    {"route.ra_period", ChangeKind::Live},
    {"enroll.url", ChangeKind::Live},
    {"log.level", ChangeKind::Live},
    {"remote.hosts", ChangeKind::Reconnect},
    {"remote.port", ChangeKind::Reconnect},
    {"remote.server_name", ChangeKind::Reconnect},
    {"remote.pin_sha256", ChangeKind::Reconnect},
    {"remote.protocol", ChangeKind::Reconnect},
    {"remote.ca_cert_file", ChangeKind::Reconnect},
    {"identity.cert_file", ChangeKind::Reconnect},
    {"identity.key_file", ChangeKind::Reconnect},
    {"identity.tpm.", ChangeKind::Reconnect},
    // The TUN was opened, addressed and sized with these; the filters, the
    // router card's RAs and DHCPv6 lease, the tunnel socket's mark and
    // enftun-setup's routes and firewall were made from them.
    {"tun.", ChangeKind::Restart},
    {"route.", ChangeKind::Restart},
    {"identity.ip_file", ChangeKind::Restart},
    {"identity.duid_file", ChangeKind::Restart},
};

bool matches(std::string_view row, std::string_view key) {
    return row.back() == '.' ? key.starts_with(row) : key == row;
}

} // namespace

ChangeKind change_kind(std::string_view key) {
    for (const auto& row : kKinds) {
        if (matches(row.key, key)) {
            return row.kind;
        }
    }
    return ChangeKind::Restart;
}

bool ConfigChange::changed(std::string_view key) const {
    for (const auto* list : {&live, &reconnect, &restart}) {
        if (std::find(list->begin(), list->end(), key) != list->end()) {
            return true;
        }
    }
    return false;
}

ConfigChange classify_change(const config::ClientConfig& running,
                             const config::ClientConfig& fresh) {
    ConfigChange change;
    for (const auto key : config::client_key_names()) {
        auto before = config::print_client_key(running, key);
        auto after = config::print_client_key(fresh, key);
        if (before && after && *before == *after) {
            continue;
        }
        switch (change_kind(key)) {
        case ChangeKind::Live:
            change.live.emplace_back(key);
            break;
        case ChangeKind::Reconnect:
            change.reconnect.emplace_back(key);
            break;
        case ChangeKind::Restart:
            change.restart.emplace_back(key);
            break;
        }
    }
    return change;
}

config::ClientConfig config_to_apply(const config::ClientConfig& running,
                                     const config::ClientConfig& fresh) {
    config::ClientConfig out = fresh;
    out.tun = running.tun;
    out.tun.busy_poll_us = fresh.tun.busy_poll_us;
    out.route = running.route;
    out.route.ra_period = fresh.route.ra_period;
    out.identity.ip_file = running.identity.ip_file;
    out.identity.duid_file = running.identity.duid_file;
    return out;
}

std::string join_keys(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& key : keys) {
        out.append(out.empty() ? "" : ", ").append(key);
    }
    return out;
}

} // namespace enftun::tunnel
