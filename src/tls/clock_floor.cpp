#include "enftun/tls/clock_floor.hpp"

#include "enftun/tls/cert_expiry.hpp"

namespace enftun::tls {

namespace {

std::string when(const ASN1_TIME* t) {
    auto s = asn1_seconds(t);
    return s ? format_utc(*s) : std::string("(unreadable)");
}

} // namespace

std::optional<std::int64_t> not_before(const X509* cert) {
    return cert != nullptr ? asn1_seconds(X509_get0_notBefore(cert)) : std::nullopt;
}

std::optional<std::int64_t> verify_time(std::int64_t now, std::optional<std::int64_t> floor) {
    if (floor && now < *floor) {
        return floor;
    }
    return std::nullopt;
}

std::string validity_note(const X509* cert, int err, std::int64_t now,
                          std::optional<std::int64_t> checked_at) {
    if (cert == nullptr ||
        (err != X509_V_ERR_CERT_NOT_YET_VALID && err != X509_V_ERR_CERT_HAS_EXPIRED)) {
        return "";
    }
    std::string note = "valid from " + when(X509_get0_notBefore(cert)) + " until " +
                       when(X509_get0_notAfter(cert)) + "; this machine's clock says " +
                       format_utc(now);
    if (checked_at && *checked_at != now) {
        note += ", before its own certificate's start: checked as at " + format_utc(*checked_at);
    }
    note += err == X509_V_ERR_CERT_NOT_YET_VALID
                ? " (a clock that is behind: set it, e.g. by NTP, or give the device a "
                  "battery-backed clock)"
                : " (if the certificate is not really expired, the clock is ahead)";
    return note;
}

std::string floor_warning(std::int64_t now, std::int64_t floor) {
    return "this machine's clock says " + format_utc(now) +
           ", before its own certificate's start (" + format_utc(floor) +
           "): the clock is wrong; peer certificates are checked as at " + format_utc(floor) +
           " until it is set (NTP)";
}

} // namespace enftun::tls
