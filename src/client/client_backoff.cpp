// The reconnect back-off across restarts (README "Readiness and watchdog").
// enftun@.service is Type=notify: while the router is unreachable no READY=1
// comes, systemd's start timeout stops the client (SIGTERM) and
// Restart=on-failure starts it again 5 s later. Without a record each run
// would start the back-off at 1 s again: a fleet booted during a router
// outage would try several times per cycle instead of once per ceiling.
//
// The rules (the record: conn/backoff_record.hpp, its file: BackoffStore):
//   start         a record decide_resume accepts (this boot, recent, the
//                 same remote and client certificate): the first attempt waits a
//                 jittered delay under its ceiling ("reconnect resumed");
//                 none (a fresh boot: /run is empty): connect at once
//   retry         each scheduled retry writes the schedule's position; a
//                 reset schedule (route change, reload, renewed identity:
//                 retry at once) removes the record, and status no longer
//                 shows the back-off as resumed
//   proven        the tunnel's first heartbeat round trip (READY=1) removes it
//   stop          a run that had a tunnel proven removes it (an operator's
//                 restart connects at once); a run that never had one
//                 writes it again with the stop's time: systemd's start
//                 timeout and an operator's stop both send SIGTERM, and only
//                 the latter would want it gone, so a stop that never got up
//                 keeps the back-off (remove the file to skip it)
// Killed without a stop (SIGKILL, the watchdog's SIGABRT), the record of the
// last scheduled retry stays, or none if a tunnel was up then.
#include "enftun/client/client.hpp"
#include "enftun/conn/backoff_record.hpp"
#include "enftun/log/log.hpp"

namespace enftun::tunnel {

namespace {

// The remote the config names and the certificate the TLS context holds
// now: a record of attempts to other hosts, or made with a certificate
// since replaced, says nothing about the next attempt.
conn::BackoffSubject subject_of(const config::ClientConfig& config, const tls::TlsContext& tls) {
    return {conn::remote_key(config.remote.hosts, config.remote.port),
            conn::identity_key(tls.own_certificate_sha256_hex())};
}

} // namespace

void Client::keep_backoff(const std::string& path) {
    backoff_store_.emplace(path);
}

// At start: true if an earlier run's back-off was resumed (the retry timer
// is armed), false to connect at once.
bool Client::resume_backoff() {
    if (!backoff_store_) {
        return false;
    }
    const auto cap = static_cast<std::uint64_t>(config_.remote.reconnect_max_delay.count());
    const auto resumed = backoff_store_->load(subject_of(config_, tls_), cap);
    if (!resumed) {
        return false;
    }
    backoff_.resume(resumed->attempt);
    resumed_attempt_ = resumed->attempt;
    const std::string why = "reconnect resumed from " + backoff_store_->path() + " (attempt " +
                            std::to_string(resumed->attempt) + " of an earlier run, " +
                            std::to_string(resumed->age_ms / 1000) + " s ago)";
    apply(ClientEvent::ConnectFailed, why);
    schedule_reconnect(why);
    return true;
}

// After schedule_reconnect armed the retry: where the schedule stands.
void Client::save_backoff() {
    if (!backoff_store_) {
        return;
    }
    if (backoff_.attempt() > 0) {
        backoff_store_->save(subject_of(config_, tls_), backoff_.attempt());
    } else {
        // The schedule was reset (route change, reload, new identity): it
        // no longer stands where the earlier run left it, so status stops
        // saying it was resumed.
        resumed_attempt_.reset();
        backoff_store_->clear();
    }
}

void Client::on_backoff_proven() {
    ever_proven_ = true;
    resumed_attempt_.reset();
    if (backoff_store_) {
        backoff_store_->clear();
    }
}

void Client::backoff_at_stop() {
    if (!backoff_store_) {
        return;
    }
    if (ever_proven_ || backoff_.attempt() == 0) {
        backoff_store_->clear();
        return;
    }
    backoff_store_->save(subject_of(config_, tls_), backoff_.attempt());
    ENFTUN_LOG_INFO("back-off kept in %s for the next start (attempt %u): no tunnel was up "
                    "since this one started",
                    backoff_store_->path().c_str(), backoff_.attempt());
}

} // namespace enftun::tunnel
