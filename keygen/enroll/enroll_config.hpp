// enftun-enroll's configuration: one group `enroll` (conf/enroll.conf),
// read once into an immutable EnrollConfig. Same conventions as the router
// config: unknown keys, wrong types and impossible values are errors
// "FILE:LINE: KEY: reason"; relative paths are taken from the folder of the
// file.
#pragma once

#include "common/ipv4.hpp"
#include "enftun/config/values.hpp"
#include "enftun/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace enftun::enroll {

struct EnrollConfig {
    std::vector<std::string> listen{"::"};
    std::uint16_t port = 8443;
    std::string cert_file; // the service's TLS identity
    std::string key_file;
    std::string ca_cert_file; // the CA that signs device certificates
    std::string ca_key_file;
    std::string crl_file;                        // written here, read by the router
    std::vector<config::Prefix> pool;            // addresses are handed out from these
    std::vector<proto::Ipv6Addr> reserved;       // never handed out (e.g. the router's)
    std::vector<proto::Ipv4Addr> reserved_ipv4;  // the IPv4 entries of `reserved`
    std::optional<keygen::Ipv4Prefix> ipv4_pool; // none: no IPv4 is issued
    std::string users_file;                      // default: "users" next to the config
    std::string state_file;                      // default: "enrolled" next to the config
    std::uint32_t cert_days = 365;
    // Per listener: accepted connections that wait for one of its threads;
    // more are refused at once (BoundedPool).
    std::uint32_t max_waiting_connections = 256;
    // Addresses one login may hold with a live certificate (not revoked,
    // not expired); /v1/enroll beyond it is refused (403). 0: no limit.
    // Renewals keep their address, so they never count twice.
    std::uint32_t max_active_per_user = 1000;
    // Enrolments one login may make per hour (EnrolRate: that many at
    // once, then that many per hour); /v1/enroll beyond it is refused
    // (429, Retry-After). 0: no limit. Renewals are not counted.
    std::uint32_t max_enrolments_per_hour = 120;
};

// Errors (ConfigError, "FILE:LINE: KEY: reason"): unreadable file, syntax,
// missing `enroll` group, unknown keys, wrong types, out-of-range numbers
// (max_waiting_connections: 0 to 4096, max_active_per_user: 0 to 1000000,
// max_enrolments_per_hour: 0 to 100000),
// malformed prefixes or addresses (ipv4_pool: common/ipv4.hpp's
// parse_ipv4_prefix), an empty pool or listen list, a required
// key missing (cert_file, key_file, ca_cert_file, ca_key_file, crl_file,
// pool).
[[nodiscard]] Result<EnrollConfig, config::ConfigError> load_enroll_config(const std::string& path);

[[nodiscard]] Result<EnrollConfig, config::ConfigError>
load_enroll_config_from_string(const std::string& text, const std::string& base_dir,
                               const std::string& source_name = "<string>");

} // namespace enftun::enroll
