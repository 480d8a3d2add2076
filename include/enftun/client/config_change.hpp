// ConfigChange: what a reload of the client's config file (SIGHUP,
// `systemctl reload`) means for a running client. Pure: the running config
// and the freshly loaded one in, the changed keys sorted by what applying
// them takes out. The Client does the applying (client_reload.cpp).
//
//   Live       applied at once, the tunnel stays: heartbeat and backoff
//              timing, connect_timeout, busy-poll, the router card's RA
//              period, enroll.url (read by enftun-keygen only).
//   Reconnect  the next connection uses them, so the tunnel reconnects once:
//              remote.hosts, port, server_name, pin_sha256, ca_cert_file,
//              the identity files and the TPM that holds the key.
//   Restart    what the TUN, its filters, the router card or enftun-setup
//              were set up with: tun.* but busy_poll_us, route.* but
//              ra_period, identity.ip_file and duid_file. Kept at their
//              running values (config_to_apply) and named in one log line.
//
// A key the table does not know is Restart: safe, and said in the log. A
// new key is one row of kKinds in config_change.cpp (plus its apply step
// in client_reload.cpp when it is Live).
#pragma once

#include "enftun/config/client_config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace enftun::tunnel {

enum class ChangeKind { Live, Reconnect, Restart };

// The kind of one dotted key (client_key_names()); Restart when unknown.
ChangeKind change_kind(std::string_view key);

struct ConfigChange {
    // Changed keys of each kind, in file order (client_key_names()).
    std::vector<std::string> live;
    std::vector<std::string> reconnect;
    std::vector<std::string> restart;

    bool empty() const { return live.empty() && reconnect.empty() && restart.empty(); }
    bool changed(std::string_view key) const;
};

// The keys whose effective value (print_client_key) differs between the
// two configs, by kind.
ConfigChange classify_change(const config::ClientConfig& running,
                             const config::ClientConfig& fresh);

// The config to run with after a reload: fresh, with every Restart key kept
// at its running value (and the warnings of fresh).
config::ClientConfig config_to_apply(const config::ClientConfig& running,
                                     const config::ClientConfig& fresh);

// "a, b, c" for a log line.
std::string join_keys(const std::vector<std::string>& keys);

} // namespace enftun::tunnel
