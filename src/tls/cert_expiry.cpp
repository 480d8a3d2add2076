#include "enftun/tls/cert_expiry.hpp"

#include "enftun/fs/regular_file.hpp"
#include "enftun/tls/ssl_ptr.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

namespace enftun::tls {

namespace {

constexpr std::int64_t kSecondsPerDay = 24 * 60 * 60;

} // namespace

ExpiryVerdict judge_expiry(std::int64_t not_after, std::int64_t now) {
    if (now > not_after) {
        return {Expiry::Expired, 0};
    }
    const std::int64_t days = (not_after - now) / kSecondsPerDay;
    // Within 30 days: anything up to and including 30 x 24 h.
    const bool soon = not_after - now <= kExpiryWarnDays * kSecondsPerDay;
    return {soon ? Expiry::Soon : Expiry::Valid, days};
}

std::string format_utc(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) {
        return "?";
    }
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string expiry_message(const ExpiryVerdict& v, const std::string& cert_file,
                           std::int64_t not_after) {
    const std::string when = format_utc(not_after);
    switch (v.state) {
    case Expiry::Valid:
        return {};
    case Expiry::Soon:
        return "certificate " + cert_file + " expires in " + std::to_string(v.days_left) +
               (v.days_left == 1 ? " day" : " days") + ", on " + when +
               ": renew it (enftun-keygen --renew)";
    case Expiry::Expired:
        return "certificate " + cert_file + " expired on " + when +
               ": the router refuses it; renew it (enftun-keygen --renew, or enroll again)";
    }
    return {};
}

std::optional<std::int64_t> asn1_seconds(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(timegm(&tm));
}

Result<std::int64_t> cert_not_after(const std::string& path) {
    ERR_clear_error();
    // Not a FIFO, which OpenSSL's fopen would wait on, forever.
    BioPtr bio(fs::require_regular_file(path) ? BIO_new_file(path.c_str(), "r") : nullptr);
    X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!cert) {
        return make_error(Errc::Identity, "cannot read the certificate's expiry");
    }
    auto not_after = asn1_seconds(X509_get0_notAfter(cert.get()));
    if (!not_after) {
        return make_error(Errc::Identity, "certificate has a malformed notAfter");
    }
    return *not_after;
}

} // namespace enftun::tls
