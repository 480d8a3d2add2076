// BackoffStore: the client's back-off record (conn/backoff_record.hpp) in
// its file, tun.backoff_file (/run/enftun/DEV.backoff: the unit's
// RuntimeDirectory, kept across restarts, empty after a boot). It reads
// the boot id and the boot clock, writes the file atomically (fs/atomic_file:
// temporary file, fsync, rename; mode 0600) and removes it. Client
// (client_backoff.cpp) says when; README "Readiness and watchdog" says why.
//
// No error of the store stops the client: a record that cannot be read or
// parsed is ignored with one warning (the client connects at once, as
// without a record), a write that fails warns once and then stays quiet
// (debug) until a write succeeds again.
#pragma once

#include "enftun/conn/backoff_record.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace enftun::tunnel {

class BackoffStore {
public:
    struct Resumed {
        unsigned attempt = 0;     // Backoff::attempt() of the earlier run
        std::uint64_t age_ms = 0; // how long ago it was written
    };

    // path: the record's file.
    explicit BackoffStore(std::string path);

    // subject: the config's conn::remote_key() and the certificate's
    // conn::identity_key() as they are now (a reload may change
    // remote.hosts or remote.port, a renewal the certificate), so that a
    // record names what its attempts went to and were made with, and the
    // next run, started with that config and certificate, finds its own.
    //
    // At start: the record to resume, if there is one that decide_resume
    // accepts for subject and cap_ms; logs why a record that is there is
    // not used.
    std::optional<Resumed> load(const conn::BackoffSubject& subject, std::uint64_t cap_ms);
    // Writes the record: the schedule for subject stands at attempt, now.
    void save(const conn::BackoffSubject& subject, unsigned attempt);
    // Removes the record, if there is one.
    void clear();

    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::string boot_id_;       // this boot's, or "unknown"
    bool write_failed_ = false; // the last write failed (and was logged)
};

} // namespace enftun::tunnel
