#include "enroll/registry.hpp"

#include "common/atomic_file.hpp"
#include "enftun/log/log.hpp"

#include <openssl/rand.h>

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
    : cfg_(cfg), ca_(ca), pool_{cfg.pool, cfg.reserved} {}

ApiResult<Certificate> Registry::issue_and_record(State& state, const proto::Ipv6Addr& address,
                                                  const std::string& user, EVP_PKEY* key) {
    auto issued = ca_.issue(key, address, cfg_.cert_days);
    if (!issued) {
        return internal("cannot issue a certificate for " + address.to_string() + ": " +
                        issued.error().message);
    }
    state.entries.push_back(Enrolment{address, user, issued->serial, issued->not_after, false});
    if (auto saved = save_state(cfg_.state_file, state); !saved) {
        return internal(saved.error().message);
    }
    return Certificate{address, keygen::cert_to_pem(issued->cert.get()), issued->serial};
}

ApiResult<Certificate> Registry::enroll(const std::string& user,
                                        const keygen::AddressRequest& request, EVP_PKEY* key) {
    std::lock_guard guard(mutex_);
    auto lock = StateLock::acquire(cfg_.state_file);
    if (!lock) {
        return internal(lock.error().message);
    }
    auto state = load_state(cfg_.state_file);
    if (!state) {
        return internal(state.error().message);
    }
    const auto taken = [&](const proto::Ipv6Addr& a) { return state->holds(a); };
    auto address = allocate(pool_, request, taken, random_bytes);
    if (!address) {
        return address.error();
    }
    return issue_and_record(*state, *address, user, key);
}

ApiResult<Certificate> Registry::renew(const std::string& serial, const proto::Ipv6Addr& address,
                                       EVP_PKEY* key) {
    std::lock_guard guard(mutex_);
    auto lock = StateLock::acquire(cfg_.state_file);
    if (!lock) {
        return internal(lock.error().message);
    }
    auto state = load_state(cfg_.state_file);
    if (!state) {
        return internal(state.error().message);
    }
    const Enrolment* current = state->by_serial(serial);
    if (current == nullptr) {
        return ApiError{401, "client certificate is not one this service issued"};
    }
    if (current->revoked) {
        return ApiError{403, "certificate is revoked"};
    }
    if (current->address != address) {
        return ApiError{403, "client certificate does not name its enrolled address"};
    }
    const std::string user = current->user;
    return issue_and_record(*state, address, user, key);
}

keygen::Outcome<void> Registry::write_crl_locked(const State& state) {
    auto crl = ca_.make_crl(state.revoked_serials());
    if (!crl) {
        return crl.error();
    }
    return keygen::write_file_atomic(cfg_.crl_file, *crl, 0644,
                                     keygen::folder_owner_if_root(cfg_.crl_file));
}

keygen::Outcome<void> Registry::write_crl() {
    std::lock_guard guard(mutex_);
    auto lock = StateLock::acquire(cfg_.state_file);
    if (!lock) {
        return lock.error();
    }
    auto state = load_state(cfg_.state_file);
    if (!state) {
        return state.error();
    }
    return write_crl_locked(*state);
}

keygen::Outcome<std::size_t> Registry::revoke(const proto::Ipv6Addr& address) {
    std::lock_guard guard(mutex_);
    auto lock = StateLock::acquire(cfg_.state_file);
    if (!lock) {
        return lock.error();
    }
    auto state = load_state(cfg_.state_file);
    if (!state) {
        return state.error();
    }
    if (!state->holds(address)) {
        return keygen::Failure{address.to_string() + " is not enrolled"};
    }
    const std::size_t changed = state->revoke(address);
    if (changed > 0) {
        if (auto saved = save_state(cfg_.state_file, *state); !saved) {
            return saved.error();
        }
    }
    // Written even when nothing changed: repairs a CRL lost between a
    // revoke's two writes.
    if (auto written = write_crl_locked(*state); !written) {
        return written.error();
    }
    return changed;
}

} // namespace enftun::enroll
