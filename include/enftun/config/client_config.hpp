// Client configuration (`enftun -c FILE`): the libconfig file is read once into
// an immutable ClientConfig. Every value is copied out and libconfig's storage
// is destroyed before the load returns, so a ClientConfig owns all its data
// and nothing points into the parser.
//
// The key names are those of the original C enftun, so its config files keep
// working: `version` is accepted and ignored, `tun.ip_set` is its name for
// `tun.set_address`, and its keys that do not apply here are accepted with a
// warning when ignoring them changes nothing (`tun.ip_path`, `trace`, an
// empty `identity.xtt` or `nat` group) and refused when it would (an XTT
// group with settings, NAT rules, `slirp`). `identity.tpm` means what it
// meant there: present, even empty, the key is held in a TPM (TpmConfig). Unknown keys
// are an error, to catch typos. Times are in milliseconds, except
// tun.busy_poll_us, as its name says. Relative paths are resolved against
// the folder of the config file. The documented example is
// conf/example.conf; the defaults below are the single source of truth.
#pragma once

#include "enftun/config/values.hpp"
#include "enftun/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::config {

struct TunConfig {
    std::string dev = "enf0";
    std::string dev_node = "/dev/net/tun";
    bool set_address = true;       // put the identity's address on the TUN
    std::uint32_t mtu = 1280;      // RFC 8200 section 5: IPv6 links carry >= 1280
    std::optional<MacAddr> lladdr; // link address for router-card mode
    // While traffic is ping-pong, keep polling for the next packet this long
    // before sleeping (link/busy_poll.hpp): lower latency for at most one
    // window of CPU per ping-pong packet. 0: off, the default: a fleet's
    // default must not spin a CPU after every request-response exchange.
    std::uint32_t busy_poll_us = 0;
    // Open the TUN with the virtio-net header and offloads (tun/tun_device.hpp
    // TunOptions). false: plain packets, super-packets split in user space.
    bool offload = true;
    // Our IPv4 address, when the host gives the TUN one (allow_ipv4): IPv4
    // to the tunnel must come from it and IPv4 from the tunnel must be
    // addressed to it. Unset: IPv4 is not address-checked (README).
    std::optional<proto::Ipv4Addr> ipv4_address;
    // The control socket of `enftun status` (control/): an absolute path,
    // "" for none. The loader's default is default_control_socket(dev).
    std::string control_socket = "/run/enftun/enf0.sock";
    // OpenMetrics text written here every 5 s (node_exporter's textfile
    // collector). Unset: none.
    std::optional<std::string> metrics_file;
    // The reconnect back-off's record for the next run (client/backoff_store.hpp),
    // "" for none. The loader's default is default_backoff_file().
    std::string backoff_file = "/run/enftun/enf0.backoff";
};

// "/run/enftun/DEV.sock": tun.control_socket's default, so that
// `enftun status -c FILE` finds the socket of the daemon running FILE.
std::string default_control_socket(std::string_view dev);
// tun.backoff_file's default: next to the control socket, its ".sock" made
// ".backoff" ("/run/enftun/DEV.backoff"); "/run/enftun/DEV.backoff" when
// there is no control socket.
std::string default_backoff_file(std::string_view control_socket, std::string_view dev);

struct RemoteConfig {
    std::vector<std::string> hosts; // tried in order; at least one
    std::uint16_t port = 443;
    std::string ca_cert_file;
    // The name the router's certificate must carry (subjectAltName DNS or
    // IP); unset: the hosts entry being tried.
    std::optional<std::string> server_name;
    // SHA-256 of the router's SubjectPublicKeyInfo, 64 lower-case hex
    // digits each; when not empty the router's key must be one of them.
    std::vector<std::string> pin_sha256;
    std::chrono::milliseconds heartbeat_period{60000};
    std::chrono::milliseconds heartbeat_timeout{15000};
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds reconnect_max_delay{60000}; // cap of the backoff
    // A connection up at least this long resets the backoff when it ends.
    std::chrono::milliseconds reconnect_stable_period{30000};
    // Highest wire protocol version offered (PROTOCOL.md): 2 offers
    // enftun/2 and enftun/1 by ALPN, 1 offers no ALPN (version 1 as is).
    std::uint32_t protocol = 2;
};

struct RouteConfig {
    std::uint32_t fwmark = 363; // SO_MARK of the tunnel socket
    std::uint32_t table = 2097; // policy routing table of enftun-setup
    // route.prefixes: its "default" and IPv6 entries here, in file order;
    // its IPv4 entries (only with allow_ipv4) in ipv4_prefixes.
    std::vector<Prefix> prefixes{Prefix::default_route()};
    std::vector<proto::Ipv4Prefix> ipv4_prefixes;
    std::vector<std::string> trusted_interfaces;
    bool allow_ipv4 = false;
    std::chrono::milliseconds ra_period{600000}; // router advertisements
};

// identity.tpm: the key is held in a TPM 2.0 and key_file is its blob (a
// `TSS2 PRIVATE KEY` PEM) or a persistent handle ("handle:0x81xxxxxx").
// The original enftun's keys and meanings; its defaults, except device
// (/dev/tpmrm0, the kernel's resource manager, instead of /dev/tpm0).
struct TpmConfig {
    enum class Tcti { Device, Socket, Swtpm };
    // device: a TPM character device; socket: a TPM simulator speaking the
    // Microsoft simulator protocol (TCTI mssim); swtpm: the software TPM's
    // own protocol (TCTI swtpm).
    Tcti tcti = Tcti::Device;
    std::string device = "/dev/tpmrm0";
    std::string socket_host = "localhost";
    std::uint16_t socket_port = 2321;
    // Where a new key is made (enftun-keygen --tpm): under parent, a
    // persistent key 0x81xxxxxx, or (0) under the standard primary key of
    // hierarchy, which can only be the owner's (0 or 0x40000001). A blob
    // names its own parent when it is loaded.
    std::uint32_t hierarchy = 0;
    std::optional<std::string> password; // the key's authorization value
    std::uint32_t parent = 0;
};

// "device", "socket" or "swtpm".
const char* tcti_name(TpmConfig::Tcti tcti);

struct IdentityConfig {
    std::string cert_file;
    std::string key_file; // with tpm: a blob file or "handle:0x81xxxxxx"
    std::optional<std::string> ip_file;
    std::string duid_file; // default: "duid" next to cert_file
    std::optional<TpmConfig> tpm;
};

// Provisioning (enftun-keygen only; enftun itself ignores it).
struct EnrollConfig {
    // enftun-enroll's https:// URL; unset: "https://" + remote.hosts[0]
    // (bracketed if IPv6) + ":8443".
    std::optional<std::string> url;
};

struct ClientConfig {
    TunConfig tun;
    RemoteConfig remote;
    RouteConfig route;
    IdentityConfig identity;
    EnrollConfig enroll;
    LogConfig log;
    // "file:line: key: ignored: why", one per accepted but ignored key of the
    // original enftun (top-level groups first); enftun logs them when it
    // starts, not with -p.
    std::vector<std::string> warnings;
};

// Reads and validates the client config file at path.
// Errors (ConfigError; each message names file, line and key):
//  - the file cannot be read (with strerror), or holds a NUL byte;
//  - libconfig syntax errors, with libconfig's line and text;
//  - an unknown key or group, a value of the wrong type, a number out of
//    range, a malformed name, address or prefix;
//  - an IPv4 entry in route.prefixes without route.allow_ipv4;
//  - a missing required key (remote.hosts, remote.ca_cert_file,
//    identity.cert_file, identity.key_file) or an empty remote.hosts;
//  - tun.ip_set and tun.set_address both given and different;
//  - enroll.url that is not an https:// URL;
//  - identity.tpm: a tcti other than device, socket or swtpm, a hierarchy
//    other than the owner's, a parent that is not a persistent handle;
//  - a setting of the original enftun this one cannot honour:
//    identity.xtt with settings, nat with settings, slirp.
[[nodiscard]] Result<ClientConfig, ConfigError> load_client_config(const std::string& path);

// The same from text already in memory (tests, fuzzing). source_name stands
// for the file name in messages; relative paths and @include are resolved
// against base_dir (unchanged if it is empty).
[[nodiscard]] Result<ClientConfig, ConfigError>
load_client_config_from_string(const std::string& text, const std::string& base_dir,
                               const std::string& source_name = "<string>");

// Whether print_client_key() shows a secret (identity.tpm.password) or,
// when it is set, kRedacted: -p output ends up in terminals, logs and bug
// reports, so a secret is shown only when asked for (--show-secrets).
enum class Secrets { Redact, Show };
inline constexpr std::string_view kRedacted = "(redacted)";

// The effective value of one key for `enftun -c FILE -p KEY`, with defaults
// applied and paths resolved: lists space-separated, booleans true/false,
// numbers in decimal, an unset optional as "".
// Errors: "unknown key: KEY".
[[nodiscard]] Result<std::string, ConfigError> print_client_key(const ClientConfig& config,
                                                                std::string_view key,
                                                                Secrets secrets = Secrets::Redact);

// Every key print_client_key() knows, in file order.
std::span<const std::string_view> client_key_names();

// Every key as "KEY=VALUE\n" lines, in file order, for `enftun -c FILE -p
// all` (enftun-setup reads them once: split each line at its first '=').
// Errors: "KEY: value holds a newline" (a line must be one key).
[[nodiscard]] Result<std::string, ConfigError>
print_all_client_keys(const ClientConfig& config, Secrets secrets = Secrets::Redact);

} // namespace enftun::config
