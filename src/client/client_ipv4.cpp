#include "enftun/client/client_ipv4.hpp"

#include "enftun/config/values.hpp"
#include "enftun/log/log.hpp"
#include "enftun/tls/identity.hpp"

namespace enftun::tunnel {

Result<std::optional<proto::Ipv4Addr>>
effective_ipv4(bool allow_ipv4, const std::optional<proto::Ipv4Addr>& configured,
               const std::optional<proto::Ipv4Addr>& from_cert, std::string& why) {
    if (!allow_ipv4 || !from_cert) {
        return configured;
    }
    if (configured && *configured != *from_cert) {
        why = "tun.ipv4_address " + config::format_ipv4(*configured) +
              " is not the certificate's IPv4 address " + config::format_ipv4(*from_cert);
        return make_error(Errc::Config, "tun.ipv4_address differs from the certificate's");
    }
    return from_cert;
}

Result<ClientIpv4> client_ipv4_quiet(const config::ClientConfig& config, std::string& why) {
    if (!config.route.allow_ipv4) {
        return ClientIpv4{config.tun.ipv4_address, false};
    }
    auto from_cert = tls::ipv4_from_cert_file(config.identity.cert_file);
    if (!from_cert) {
        why = "identity " + config.identity.cert_file + ": " + from_cert.error().what;
        return from_cert.error();
    }
    auto ipv4 = effective_ipv4(true, config.tun.ipv4_address, *from_cert, why);
    if (!ipv4) {
        why += " (" + config.identity.cert_file + ")";
        return ipv4.error();
    }
    return ClientIpv4{*ipv4, from_cert->has_value()};
}

Result<ClientIpv4> client_ipv4(const config::ClientConfig& config) {
    std::string why;
    auto ipv4 = client_ipv4_quiet(config, why);
    if (!ipv4) {
        ENFTUN_LOG_ERROR("%s", why.c_str());
    }
    return ipv4;
}

} // namespace enftun::tunnel
