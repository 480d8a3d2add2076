// The clock floor: a time this machine's clock cannot truly be before, and
// what a certificate's validity says against the clock.
//
// A device without a battery-backed clock, or with a read-only root (no
// clock saved by systemd-timesyncd), boots with its clock years behind. Every
// certificate issued since then is "not yet valid" by that clock, so no
// handshake succeeds; and with a full tunnel, NTP reaches such a device only
// through the tunnel. But the device holds its own certificate, issued in
// the past: the clock cannot truly be before that certificate's notBefore.
// While it is, peer certificates are checked as at that notBefore
// (X509_VERIFY_PARAM_set_time) instead of at a time known to be wrong. A
// peer certificate issued after ours still fails until the clock is set;
// its refusal then names both times (validity_note), so the log says what
// is wrong.
//
// The price: with the clock that far behind, a peer certificate that
// expired between our certificate's start and the true time passes, as it
// would by the wrong clock itself. Once the clock is set, nothing changes.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>

namespace enftun::tls {

// notBefore of cert in seconds since the epoch; nullopt if it cannot be read.
std::optional<std::int64_t> not_before(const X509* cert);

// The time to check peer certificates at: floor when now is before it,
// else nullopt (check at the clock's time, as OpenSSL does).
std::optional<std::int64_t> verify_time(std::int64_t now, std::optional<std::int64_t> floor);

// For a refused certificate whose validity is the fault (err is
// X509_V_ERR_CERT_NOT_YET_VALID or X509_V_ERR_CERT_HAS_EXPIRED): "its
// validity is A to B; checked as at C, this machine's clock (D)", with a
// hint when the clock looks wrong; "" for any other error.
// checked_at: the floor if one was used, else now.
std::string validity_note(const X509* cert, int err, std::int64_t now,
                          std::optional<std::int64_t> checked_at);

// The warning logged when the floor is used: the clock says now, before
// floor (our certificate's notBefore).
std::string floor_warning(std::int64_t now, std::int64_t floor);

} // namespace enftun::tls
