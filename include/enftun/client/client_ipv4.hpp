// client_ipv4: the client's inner IPv4 address (route.allow_ipv4), from its
// certificate and tun.ipv4_address. A certificate may bind the client to one
// IPv4 address (tls/identity.hpp); tun.ipv4_address then defaults to it, and
// a configured one must be the same.
#pragma once

#include "enftun/config/client_config.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/util/result.hpp"

#include <optional>
#include <string>

namespace enftun::tunnel {

// Pure: the IPv4 address the filters hold IPv4 to (nullopt: no address
// check), given allow_ipv4, tun.ipv4_address and the certificate's IPv4.
// Without allow_ipv4, or with a certificate without IPv4, it is
// tun.ipv4_address as configured. Errors: Config, with the sentence to
// log (why), when both are set and differ.
Result<std::optional<proto::Ipv4Addr>>
effective_ipv4(bool allow_ipv4, const std::optional<proto::Ipv4Addr>& configured,
               const std::optional<proto::Ipv4Addr>& from_cert, std::string& why);

// The same for config, reading its certificate (identity.cert_file) when
// route.allow_ipv4 is set; errors logged. from_certificate: the address is
// the certificate's (the client puts it on the TUN with tun.set_address; a
// tun.ipv4_address of a certificate without one is the host's to set, as
// before certificates carried IPv4). Errors: Identity (the certificate's
// IPv4 is malformed), Config (it differs from tun.ipv4_address).
struct ClientIpv4 {
    std::optional<proto::Ipv4Addr> address;
    bool from_certificate = false;
};
Result<ClientIpv4> client_ipv4(const config::ClientConfig& config);

// The same without logging (for `enftun -p tun.ipv4_address`): the
// sentence client_ipv4() would log is left in why.
Result<ClientIpv4> client_ipv4_quiet(const config::ClientConfig& config, std::string& why);

} // namespace enftun::tunnel
