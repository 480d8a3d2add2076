#include "enroll/registry.hpp"

#include "common/atomic_file.hpp"
#include "common/ipv4.hpp"
#include "enftun/log/log.hpp"

#include <openssl/rand.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace enftun::enroll {

namespace {

ApiError internal(const std::string& why) {
    ENFTUN_LOG_ERROR("%s", why.c_str());
    return ApiError{500, "internal error; see the service's log"};
}

void random_bytes(std::uint8_t* out, std::size_t n) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) {
        // The DRBG failing means nothing we sign can be trusted: stop.
        ENFTUN_LOG_ERROR("RAND_bytes failed");
        std::abort();
    }
}

} // namespace

Registry::Registry(const EnrollConfig& cfg, const Ca& ca)
    : cfg_(cfg),
      ca_(ca), pool_{cfg.pool, cfg.reserved}, ipv4_pool_{cfg.ipv4_pool, cfg.reserved_ipv4} {}

keygen::Outcome<Registry::Locked> Registry::lock_state() {
    std::unique_lock guard(mutex_);
    auto lock = StateLock::acquire(cfg_.state_file);
    if (!lock) {
        return lock.error();
    }
    auto state = load_state(cfg_.state_file);
    if (!state) {
        return state.error();
    }
    return Locked{std::move(guard), std::move(*lock), std::move(*state)};
}

ApiResult<Certificate> Registry::issue_and_record(State& state, const Enrolment& enrolment,
                                                  EVP_PKEY* key) {
    auto issued = ca_.issue(key, enrolment.address, enrolment.ipv4, cfg_.cert_days);
    if (!issued) {
        return internal("cannot issue a certificate for " + enrolment.address.to_string() + ": " +
                        issued.error().message);
    }
    Enrolment recorded = enrolment;
    recorded.serial = issued->serial;
    recorded.not_after = issued->not_after;
    recorded.revoked = false;
    std::string pem = keygen::cert_to_pem(issued->cert.get());
    if (!recorded.renewed_from.empty()) {
        // Before the state names it: a crash in between leaves a file no
        // line refers to, never a line whose retry finds no certificate.
        const std::string dir = cfg_.state_file + ".renewals";
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
            return internal("cannot create " + dir + ": " + std::strerror(errno));
        }
        if (auto kept = keygen::write_file_atomic(renewal_copy(recorded.serial), pem, 0644);
            !kept) {
            return internal(kept.error().message);
        }
    }
    state.entries.push_back(recorded);
    if (auto saved = save_state(cfg_.state_file, state); !saved) {
        return internal(saved.error().message);
    }
    return Certificate{recorded.address, recorded.ipv4, std::move(pem), recorded.serial, false};
}

std::string Registry::renewal_copy(const std::string& serial) const {
    return cfg_.state_file + ".renewals/" + serial + ".pem";
}

ApiResult<Certificate> Registry::resend(const Enrolment& renewal) const {
    // A certificate is a few KiB; this bounds a file someone else put there.
    constexpr std::size_t kMaxCertificate = 64 * 1024;
    auto pem = keygen::read_file(renewal_copy(renewal.serial), kMaxCertificate);
    if (!pem) {
        return internal("the renewal " + renewal.serial + " of " + renewal.address.to_string() +
                        " cannot be sent again: " + pem.error().message);
    }
    // The file must hold that very certificate (a file someone replaced,
    // or a crash we did not foresee, must not hand out another).
    auto cert = keygen::cert_from_pem(*pem);
    if (!cert || keygen::serial_hex(X509_get0_serialNumber(cert->get())) != renewal.serial ||
        keygen::public_key_sha256(X509_get0_pubkey(cert->get())) != renewal.key_sha256) {
        return internal("the renewal " + renewal.serial + " of " + renewal.address.to_string() +
                        " cannot be sent again: " + renewal_copy(renewal.serial) +
                        " does not hold its certificate");
    }
    return Certificate{renewal.address, renewal.ipv4, std::move(*pem), renewal.serial, true};
}

ApiResult<Certificate> Registry::enroll(const std::string& user,
                                        const keygen::AddressRequest& request,
                                        const std::optional<keygen::Ipv4Request>& ipv4,
                                        EVP_PKEY* key) {
    auto locked = lock_state();
    if (!locked) {
        return internal(locked.error().message);
    }
    const State& state = locked->state;
    // Under the lock: concurrent requests of one user cannot pass it together.
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    if (cfg_.max_active_per_user != 0 &&
        state.active_addresses_of(user, now) >= cfg_.max_active_per_user) {
        return ApiError{403, "user " + user + " holds live certificates for " +
                                 std::to_string(cfg_.max_active_per_user) +
                                 " addresses, the most enroll.max_active_per_user allows: revoke "
                                 "unused ones, or raise the limit"};
    }
    const auto taken = [&](const proto::Ipv6Addr& a) { return state.holds(a); };
    auto address = allocate(pool_, request, taken, random_bytes);
    if (!address) {
        return address.error();
    }
    Enrolment e{*address, user, {}, 0, false, std::nullopt, {}, {}};
    if (ipv4) {
        const auto used = state.ipv4_addresses();
        const auto taken4 = [&](const proto::Ipv4Addr& a) { return used.count(a) != 0; };
        auto v4 = allocate_ipv4(ipv4_pool_, *ipv4, taken4);
        if (!v4) {
            return v4.error();
        }
        e.ipv4 = *v4;
    }
    return issue_and_record(locked->state, e, key);
}

ApiResult<Certificate> Registry::renew(const std::string& serial, const proto::Ipv6Addr& address,
                                       const std::optional<proto::Ipv4Addr>& ipv4, EVP_PKEY* key) {
    auto locked = lock_state();
    if (!locked) {
        return internal(locked.error().message);
    }
    auto found = presented(locked->state, serial, address, ipv4);
    if (!found) {
        return found.error();
    }
    const Enrolment* current = *found;
    const std::string key_sha256 = keygen::public_key_sha256(key);
    if (key_sha256.empty()) {
        return internal("cannot encode the public key of a renewal of " + address.to_string());
    }
    const Enrolment* newest = locked->state.newest_of(address);
    if (newest != current) {
        // Superseded. Only the renewal that did it may come back (its answer
        // was lost): the same key gets the same certificate, again.
        if (newest->renewed_from == serial && newest->key_sha256 == key_sha256 &&
            !newest->revoked) {
            return resend(*newest);
        }
        return ApiError{403, "certificate was superseded by a renewal"};
    }
    // A copy: issue_and_record appends to the vector current points into.
    Enrolment next = *current;
    next.renewed_from = serial;
    next.key_sha256 = key_sha256;
    // The newest renews: the device holds it, so the ones before it are
    // retired (a confirm that was lost is made up here), in the same save
    // as the new line.
    const std::size_t retired = locked->state.retire_all_but(address, serial);
    auto renewed = issue_and_record(locked->state, next, key);
    if (renewed) {
        // The renewed certificate, itself a renewal, is superseded now: its
        // predecessor may no longer retry, so its copy is not needed (one
        // copy per address, at most).
        (void)::unlink(renewal_copy(serial).c_str());
        if (retired > 0) {
            // The state holds the revocation already; the next confirm,
            // revoke or start writes the CRL again.
            if (auto written = write_crl_locked(locked->state); !written) {
                ENFTUN_LOG_ERROR("renewal of %s: %s", address.to_string().c_str(),
                                 written.error().message.c_str());
            }
        }
    }
    return renewed;
}

ApiResult<std::size_t> Registry::confirm(const std::string& serial, const proto::Ipv6Addr& address,
                                         const std::optional<proto::Ipv4Addr>& ipv4) {
    auto locked = lock_state();
    if (!locked) {
        return internal(locked.error().message);
    }
    State& state = locked->state;
    auto found = presented(state, serial, address, ipv4);
    if (!found) {
        return found.error();
    }
    const Enrolment* current = *found;
    if (state.newest_of(address) != current) {
        return ApiError{403, "certificate was superseded by a renewal"};
    }
    const bool renewal = !current->renewed_from.empty();
    const std::size_t retired = state.retire_all_but(address, serial);
    if (retired > 0) {
        if (auto saved = save_state(cfg_.state_file, state); !saved) {
            return internal(saved.error().message);
        }
    }
    // Only when something was retired, or our last CRL write failed (a
    // confirm that got 500 for it completes it when repeated): any device
    // may confirm as often as it likes, and must not make us sign and
    // fsync a CRL each time.
    if (retired > 0 || crl_stale_) {
        if (auto written = write_crl_locked(state); !written) {
            return internal("confirm of " + address.to_string() + ": " + written.error().message);
        }
    }
    if (renewal && ::unlink(renewal_copy(serial).c_str()) != 0 && errno != ENOENT) {
        ENFTUN_LOG_WARN("cannot remove %s: %s", renewal_copy(serial).c_str(), std::strerror(errno));
    }
    return retired;
}

ApiResult<const Enrolment*> Registry::presented(const State& state, const std::string& serial,
                                                const proto::Ipv6Addr& address,
                                                const std::optional<proto::Ipv4Addr>& ipv4) {
    const Enrolment* current = state.by_serial(serial);
    if (current == nullptr) {
        return ApiError{401, "client certificate is not one this service issued"};
    }
    if (current->revoked) {
        return ApiError{403, "certificate is revoked"};
    }
    // TLS has checked the certificate's time already (no session is ever
    // resumed); the recorded end is a second layer that holds whatever
    // the transport did, as the state file is what this service trusts.
    if (current->not_after < static_cast<std::int64_t>(std::time(nullptr))) {
        return ApiError{403, "certificate has expired: enroll again"};
    }
    if (current->address != address) {
        return ApiError{403, "client certificate does not name its enrolled address"};
    }
    if (current->ipv4 != ipv4) {
        return ApiError{403, "client certificate does not name its enrolled IPv4 address"};
    }
    return current;
}

keygen::Outcome<void> Registry::write_crl_locked(const State& state) {
    // A revoked serial stays listed for a day past its recorded end: a
    // router whose clock is behind ours still takes the certificate for
    // valid then, and must find it revoked; and a CRL written in that day
    // lists it past its end, as RFC 5280 (section 3.3) asks before an
    // entry is dropped.
    constexpr std::int64_t kListedPastEnd = 24 * 60 * 60;
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    crl_stale_ = true;
    // crlNumber grows strictly (RFC 5280 5.2.3) from the CRL in place, which
    // the CLI's revoke (another process, the same state lock) writes too.
    auto crl =
        ca_.make_crl(state.revoked_serials(now - kListedPastEnd), read_crl_number(cfg_.crl_file));
    if (!crl) {
        return crl.error();
    }
    auto written = keygen::write_file_atomic(cfg_.crl_file, *crl, 0644,
                                             keygen::folder_owner_if_root(cfg_.crl_file));
    crl_stale_ = !written;
    return written;
}

keygen::Outcome<void> Registry::write_crl() {
    auto locked = lock_state();
    if (!locked) {
        return locked.error();
    }
    return write_crl_locked(locked->state);
}

keygen::Outcome<std::size_t> Registry::revoke(const proto::Ipv6Addr& address) {
    return revoke_address(address, address.to_string());
}

keygen::Outcome<std::size_t> Registry::revoke(const proto::Ipv4Addr& address) {
    return revoke_address(address, keygen::format_ipv4(address));
}

template <typename Addr>
keygen::Outcome<std::size_t> Registry::revoke_address(const Addr& address,
                                                      const std::string& text) {
    auto locked = lock_state();
    if (!locked) {
        return locked.error();
    }
    State& state = locked->state;
    if (!state.holds(address)) {
        return keygen::Failure{text + " is not enrolled"};
    }
    // The IPv4 address of a revoked certificate stays taken, as its IPv6
    // address does (state.hpp).
    const std::size_t changed = state.revoke(address);
    if (changed > 0) {
        if (auto saved = save_state(cfg_.state_file, state); !saved) {
            return saved.error();
        }
    }
    // Written even when nothing changed: repairs a CRL lost between a
    // revoke's two writes.
    if (auto written = write_crl_locked(state); !written) {
        return written.error();
    }
    return changed;
}

} // namespace enftun::enroll
