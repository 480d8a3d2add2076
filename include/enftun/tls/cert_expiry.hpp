// Certificate expiry: when the client's certificate runs out, and what to
// tell the operator. judge_expiry() is pure (times in, verdict out) so the
// thresholds are unit-tested with given times; cert_not_after() reads
// the time from a PEM file. client/identity_watch.hpp logs the verdict at
// start, once a day and after a reload.
#pragma once

#include "enftun/util/result.hpp"

#include <openssl/asn1.h>

#include <cstdint>
#include <optional>
#include <string>

namespace enftun::tls {

// A certificate expiring within this many days gets a warning.
inline constexpr std::int64_t kExpiryWarnDays = 30;

enum class Expiry {
    Valid,   // more than kExpiryWarnDays left
    Soon,    // valid, but expires within kExpiryWarnDays
    Expired, // now is past notAfter (RFC 5280 section 4.1.2.5: notAfter is inclusive)
};

struct ExpiryVerdict {
    Expiry state = Expiry::Valid;
    std::int64_t days_left = 0; // whole days until notAfter, 0 if expired
};

// not_after and now in seconds since the epoch (UTC).
ExpiryVerdict judge_expiry(std::int64_t not_after, std::int64_t now);

// The log line for a verdict, naming the file and the expiry date
// ("2027-12-06 11:43:48 UTC"); "" for Valid.
std::string expiry_message(const ExpiryVerdict& v, const std::string& cert_file,
                           std::int64_t not_after);

// "YYYY-MM-DD HH:MM:SS UTC".
std::string format_utc(std::int64_t unix_seconds);

// An ASN.1 time (a certificate's notBefore or notAfter) in seconds since the
// epoch; nullopt if it is null or malformed.
std::optional<std::int64_t> asn1_seconds(const ASN1_TIME* t);

// notAfter of the first certificate in a PEM file, in seconds since the
// epoch. Errors: Identity (unreadable, not a certificate, bad time).
Result<std::int64_t> cert_not_after(const std::string& path);

} // namespace enftun::tls
