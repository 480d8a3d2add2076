// Notifier: what a daemon tells its service manager, through systemd's
// notification protocol (sd_notify(3), libsystemd): READY=1, STATUS=,
// RELOADING=1, STOPPING=1 and WATCHDOG=1. A unit of Type=notify (systemd/)
// counts as started at READY=1, so units ordered after it start only then.
//
//   client:  READY=1 once the tunnel has carried a heartbeat round trip
//            (client.hpp, ClientListener::on_proven); STATUS= on each state
//   router:  READY=1 once it listens; STATUS= with the session count
//   reload:  reloading() ... ready_after_reload(): RELOADING=1 ... READY=1
//
// Without NOTIFY_SOCKET (not started by systemd as Type=notify, or a test
// that gives none) every call does nothing and costs a branch. Messages are
// best effort: a service manager that is gone must not stop the tunnel, so
// a failed send is not an error (sd_notify's result is ignored).
//
// STATUS= text is one line of printable ASCII: a control character (a line
// break would start another assignment) becomes '?'. The same text twice in
// a row is sent once.
//
// Lifetime: one per process, created in main before the loop runs; used
// from the loop thread only.
#pragma once

#include <string>
#include <string_view>

namespace enftun::service {

class Notifier {
public:
    // Reads NOTIFY_SOCKET once; the variable stays set (children of ours, if
    // any, are not meant to notify: NotifyAccess=main in the units).
    Notifier();

    // Whether a service manager listens (NOTIFY_SOCKET was set).
    bool enabled() const { return enabled_; }

    // READY=1: start-up (or a reload) is complete. Sent once; later calls do
    // nothing until reloading() has been called.
    void ready();
    bool is_ready() const { return ready_; }

    // STATUS=text (one line; see above).
    void status(std::string_view text);

    // RELOADING=1 (with MONOTONIC_USEC=, which systemd >= 253 expects): a
    // configuration reload starts. Call ready_after_reload() when it is done,
    // whether it applied or was rejected: systemd waits for its READY=1.
    // READY=1 comes back only if the daemon was ready before: a client whose
    // tunnel has not yet been proven sends it when it is (ready()); systemd
    // ignores RELOADING=1 from a service that is still starting.
    void reloading();
    void ready_after_reload();

    // STOPPING=1: a graceful stop began.
    void stopping();

    // WATCHDOG=1: the loop is alive (watchdog.hpp sends it on a timer).
    void watchdog();

    // One line of printable ASCII, as STATUS= sends it (tests).
    static std::string sanitize(std::string_view text);

private:
    void send(const std::string& message);

    bool enabled_ = false;
    bool ready_ = false;
    bool ready_before_reload_ = false; // reloading() came while ready
    std::string last_status_;
};

} // namespace enftun::service
