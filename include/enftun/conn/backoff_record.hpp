// BackoffRecord: the reconnect back-off of a client run that has not got its
// tunnel up, as a small text file, so that the next run of the same client
// (systemd's Restart=on-failure after its start timeout killed a client that
// never sent READY=1) resumes the back-off instead of starting at 1 s again
// (README "Readiness and watchdog"). Pure: the text codec and the decision
// to resume; the file, the clock and the boot id are client/backoff_store.
//
// The file, one "key value" line each, in this order:
//
//   enftun-backoff 1                               format version
//   boot_id 5a0e...-...                            /proc/sys/kernel/random/boot_id
//   written_ms 123456                              CLOCK_BOOTTIME, ms
//   remote fd00:100::1,router.example 443          remote.hosts and remote.port
//   attempt 6                                      Backoff::attempt() to resume at
//
// A record is resumed only from the same boot (boot id), when it is at most
// max_record_age_ms(cap) old by the boot clock (neither the wall clock's
// steps nor NTP at boot matter), for the same remote (a record of the hosts
// the config named before says nothing about new ones) and with attempt > 0.
// The attempt is clamped by Backoff::resume to the one whose ceiling is
// the cap, so a record cannot make the client wait longer than the cap.
#pragma once

#include "enftun/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::conn {

struct BackoffRecord {
    std::string boot_id;
    std::uint64_t written_ms = 0; // CLOCK_BOOTTIME when written
    std::string remote;           // remote_key(): what the attempts went to
    unsigned attempt = 0;         // Backoff::attempt(): the next draw's position
};

// Longest file parse_backoff_record accepts (a record is about 150 bytes).
inline constexpr std::size_t kMaxBackoffRecordBytes = 1024;
// Highest attempt accepted: 64 doublings pass any cap (Backoff saturates).
inline constexpr unsigned kMaxBackoffAttempt = 64;

// Longest hosts part of a remote_key written out; a longer list of hosts
// (remote.hosts has no bound) is written as its count and a 64-bit digest,
// "12-hosts-fnv1a64:0123456789abcdef PORT", so that it fits the record.
inline constexpr std::size_t kMaxRemoteHostsText = 256;

// "HOST,HOST PORT": the remote a record's attempts went to.
std::string remote_key(const std::vector<std::string>& hosts, std::uint16_t port);

std::string encode_backoff_record(const BackoffRecord& record);

// Errors: the reason the text is not a record, "line N: ..." where a line is
// at fault (a wrong version, key or value, a missing or extra line, a text
// longer than kMaxBackoffRecordBytes).
Result<BackoffRecord, std::string> parse_backoff_record(std::string_view text);

// How old a record may be: twice the cap plus a minute. The last record of a
// run is written at its stop (systemd's TimeoutStartSec= SIGTERM) or, if it
// was killed without one, at its last failed attempt, at most a cap plus a
// connect timeout before; the restart follows RestartSec= (5 s) later.
// Anything older is from a run stopped long ago (a unit restarted by hand
// after it had failed for good): start at once.
std::uint64_t max_record_age_ms(std::uint64_t cap_ms);

enum class ResumeVerdict {
    Resume,
    OtherBoot,   // written before the machine booted again
    Stale,       // older than max_record_age_ms
    FromFuture,  // written "after" now: not our clock
    OtherRemote, // the attempts went to other hosts or another port
    NoBackoff,   // attempt 0: nothing to resume
};

// What the client's start does with a record: now_ms and boot_id are this
// run's, remote its remote_key().
ResumeVerdict decide_resume(const BackoffRecord& record, std::string_view boot_id,
                            std::uint64_t now_ms, std::string_view remote, std::uint64_t cap_ms);

// Log text: "written before this boot", ...
const char* to_string(ResumeVerdict verdict);

} // namespace enftun::conn
