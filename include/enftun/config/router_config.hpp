// Router configuration (`enftun-router -c FILE`): everything lives in one
// top-level group `router`. Like the client config it is read once into an
// immutable RouterConfig that owns all its data; libconfig's storage is gone
// when the load returns. Unknown keys are an error; times are in
// milliseconds; relative paths are resolved against the folder of the file.
// The documented example is conf/router.conf.
#pragma once

#include "enftun/config/values.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace enftun::config {

// Optional TUN on the router host: packets for the clients' prefixes are
// routed into it, so the router can forward between clients and the host.
struct RouterTunConfig {
    std::string dev = "enfr0";
    std::string dev_node = "/dev/net/tun";
    std::uint32_t mtu = 1500;               // default: router.mtu
    std::optional<proto::Ipv6Addr> address; // put on the TUN as a /128
    std::vector<Prefix> routes;             // routed into the TUN towards the clients
    // Each session's /128 goes into the kernel through the TUN with this
    // routing protocol number, in this table (router/session_routes.hpp), so
    // a routing daemon can pick out exactly these routes.
    std::uint8_t route_protocol = 250;
    std::uint32_t route_table = 254; // RT_TABLE_MAIN
    // Where the router records the table and protocol it uses, for a start
    // after a crash (router/route_record.hpp); "": no record.
    std::string route_record = "/run/enftun-router/routes";
    bool offload = true; // as the client's tun.offload
};

struct RouterConfig {
    std::vector<std::string> listen{"::"}; // IPv4/IPv6 literals to bind
    std::uint16_t port = 4443;
    proto::Ipv6Addr address{}; // the router's address inside the tunnel
    std::string cert_file;
    std::string key_file;
    std::string ca_cert_file; // verifies client certificates
    // CRL of ca_cert_file, re-read when it changes (router/crl_watch.hpp);
    // empty: no revocation checks.
    std::string crl_file;
    std::uint32_t max_sessions = 10000; // authenticated sessions
    // Unauthenticated connections (router/handshake_budget.hpp): in all, the
    // largest source's oldest evicted when full; from one source (IPv4 address, IPv6 /64),
    // more refused; and how long one may stay silent (at most
    // handshake_timeout, which counts from accept).
    std::uint32_t max_handshakes = 256;
    std::uint32_t max_handshakes_per_source = 16;
    std::chrono::milliseconds first_byte_timeout{3000};
    std::chrono::milliseconds handshake_timeout{10000};
    // Above the original enftun client's default heartbeat period (300 s)
    // plus its heartbeat timeout (15 s), with room for a heartbeat that TCP
    // has to retransmit: an idle peer at its defaults is never dropped.
    std::chrono::milliseconds idle_timeout{420000};
    std::uint32_t mtu = 1500; // largest IP packet accepted in a frame
    // Bytes queued towards one client. 1 MiB: sixteen of protocol 2's 64 KiB
    // super-packets; 256 KiB (four) dropped thousands a second in client →
    // client bulk transfers (bench/README.md, "queue_limit").
    std::size_t queue_limit = 1048576;
    // Spin window after a ping-pong packet (link/busy_poll.hpp); 0: off
    // (the default; an opt-in for latency, as the client's).
    std::uint32_t busy_poll_us = 0;
    // Highest wire protocol version selected (PROTOCOL.md): 2 selects
    // enftun/2 when a client offers it; 1 never does (version 1 for all).
    std::uint32_t protocol = 2;
    // A client certificate's address must lie in one of these; empty: any.
    std::vector<Prefix> client_prefixes;
    // Inner IPv4: a client certificate's IPv4 address (subjectAltName) must
    // lie in one of these, and the router then routes IPv4 for it; empty:
    // IPv4 off (dropped and counted, the certificate's IPv4 ignored).
    std::vector<proto::Ipv4Prefix> ipv4_client_prefixes;
    // The control socket `enftun-router status` asks (control/); "": none.
    std::string control_socket = "/run/enftun-router/router.sock";
    // OpenMetrics text rewritten every 5 s, for node_exporter; "": none.
    std::string metrics_file;
    std::optional<RouterTunConfig> tun; // set iff the `tun` group is present
    LogConfig log;                      // the top-level group `log`
};

// Reads and validates the router config file at path.
// Errors (ConfigError; each message names file, line and key): the file
// cannot be read; libconfig syntax errors; a missing `router` group; unknown
// keys; wrong types; numbers out of range; malformed addresses or prefixes;
// a missing required key (address, cert_file, key_file, ca_cert_file).
[[nodiscard]] Result<RouterConfig, ConfigError> load_router_config(const std::string& path);

// The same from text in memory; see load_client_config_from_string().
[[nodiscard]] Result<RouterConfig, ConfigError>
load_router_config_from_string(const std::string& text, const std::string& base_dir,
                               const std::string& source_name = "<string>");

// Every key of the router config as a dotted path ("router.port",
// "router.tun.dev", "log.level"), in file order; the group router.tun itself
// is not listed.
std::span<const std::string> router_key_names();

} // namespace enftun::config
