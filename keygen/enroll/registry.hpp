// Registry: the one place that turns a request into a recorded certificate.
// It serializes allocation, issuance and recording (a mutex between the HTTP
// threads, StateLock between this process and `enftun-enroll revoke`), and
// re-reads the state file under the lock each time, so a revoke or another
// process's record is always seen. The address is in the state file, fsynced,
// before the certificate leaves the Registry: a crash at any moment can lose
// an answer but never hand out an address twice.
#pragma once

#include "enroll/api_error.hpp"
#include "enroll/ca.hpp"
#include "enroll/enroll_config.hpp"
#include "enroll/ipv4_pool.hpp"
#include "enroll/pool.hpp"
#include "enroll/state.hpp"

#include <mutex>
#include <optional>

namespace enftun::enroll {

struct Certificate {
    proto::Ipv6Addr address;
    std::optional<proto::Ipv4Addr> ipv4;
    std::string pem;
    std::string serial;
    bool resent = false; // a renewal's certificate sent again (Registry::renew)
};

class Registry {
public:
    // cfg and ca must outlive the Registry.
    Registry(const EnrollConfig& cfg, const Ca& ca);

    // A new certificate for key at the address request picks, and at the
    // IPv4 address ipv4 picks when given, recorded for user. Errors: 403
    // when user holds max_active_per_user live addresses already; pool
    // errors (403, 409, 503, see pool.hpp and ipv4_pool.hpp); 500 when the
    // state cannot be read or written or signing fails (logged here).
    ApiResult<Certificate> enroll(const std::string& user, const keygen::AddressRequest& request,
                                  const std::optional<keygen::Ipv4Request>& ipv4, EVP_PKEY* key);

    // A new certificate for key at the addresses (IPv6, and IPv4 if any) of
    // the certificate with serial (which the caller has checked chains to
    // our CA; address and ipv4 are what that certificate names), which
    // must be the newest certificate of its address: a renewal supersedes
    // it. The one it superseded may only retry that renewal, with the same
    // key: it gets the same certificate again (kept under
    // "<state_file>.renewals/SERIAL.pem"), so a device whose answer was
    // lost is not stranded, and a copy of an old key gets nothing new. The
    // copy of a renewal goes when it is renewed in turn.
    // A renewal from the newest certificate also shows that the device
    // holds it: the older ones are retired first, as confirm() does.
    // Errors: 401 (serial not in the state: not one of ours), 403 (revoked,
    // past its recorded end, its addresses do not match, or
    // `certificate was superseded by a renewal`), 500 as above.
    ApiResult<Certificate> renew(const std::string& serial, const proto::Ipv6Addr& address,
                                 const std::optional<proto::Ipv4Addr>& ipv4, EVP_PKEY* key);

    // The device has shown (mutual TLS with it) that it holds the
    // certificate with serial (address and ipv4 are what it names), which
    // must be the newest of its address: the address's older certificates
    // are retired (revoked in the state file, then the CRL rewritten; the
    // address stays the device's), and the kept copy of its renewal goes,
    // as its predecessor may no longer retry. A renewal from the newest
    // certificate retires the same ones (renew). Idempotent: returns how
    // many were revoked now (0: none left). The CRL is rewritten only when
    // something was retired (or this process's last CRL write failed): a
    // device may repeat a confirm at will.
    // Errors: 401, 403 as for renew (`certificate was superseded by a
    // renewal` for any but the newest), 500 as above.
    ApiResult<std::size_t> confirm(const std::string& serial, const proto::Ipv6Addr& address,
                                   const std::optional<proto::Ipv4Addr>& ipv4);

    // Rewrites crl_file from the state: the revoked serials not yet a day
    // past their recorded end (State::revoked_serials).
    keygen::Outcome<void> write_crl();

    // Marks the certificates of address (their IPv6 address, or their IPv4
    // one) revoked in the state file and rewrites the CRL; for the CLI, safe
    // while the service runs. Returns how many certificates were revoked
    // (0: all were already). Errors: address never enrolled, I/O, signing.
    keygen::Outcome<std::size_t> revoke(const proto::Ipv6Addr& address);
    keygen::Outcome<std::size_t> revoke(const proto::Ipv4Addr& address);

private:
    // Both locks held and the state file's current content: what every
    // operation reads and changes (see the top of this file).
    struct Locked {
        std::unique_lock<std::mutex> guard;
        StateLock lock;
        State state;
    };
    // Errors: the lock or the state file (a Failure to log or show).
    keygen::Outcome<Locked> lock_state();
    // Signs and appends the enrolment, then saves the state; the
    // certificate is returned only once it is on disk.
    // A renewal (enrolment.renewed_from set) also keeps a copy of the
    // certificate (renewal_copy), written before the state.
    ApiResult<Certificate> issue_and_record(State& state, const Enrolment& enrolment,
                                            EVP_PKEY* key);
    // "<state_file>.renewals/SERIAL.pem"
    std::string renewal_copy(const std::string& serial) const;
    // The certificate of renewal (a line with from=), read back for a retry.
    ApiResult<Certificate> resend(const Enrolment& renewal) const;
    // Sets or clears crl_stale_.
    keygen::Outcome<void> write_crl_locked(const State& state);
    // The entry of serial, if it may speak for address and ipv4 now.
    // Errors: 401 not ours; 403 revoked, past its recorded end, other
    // addresses.
    static ApiResult<const Enrolment*> presented(const State& state, const std::string& serial,
                                                 const proto::Ipv6Addr& address,
                                                 const std::optional<proto::Ipv4Addr>& ipv4);
    // revoke() for either kind of address; text is how errors name it.
    template <typename Addr>
    keygen::Outcome<std::size_t> revoke_address(const Addr& address, const std::string& text);

    const EnrollConfig& cfg_;
    const Ca& ca_;
    Pool pool_;
    Ipv4Pool ipv4_pool_;
    std::mutex mutex_;
    // The last CRL write of this process failed: the next confirm writes
    // it even when it retires nothing (mutex_ held).
    bool crl_stale_ = false;
};

} // namespace enftun::enroll
