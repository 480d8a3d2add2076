// BackoffRecord: the reconnect back-off of a client run that has not got its
// tunnel up, as a small text file, so that the next run of the same client
// (systemd's Restart=on-failure after its start timeout killed a client that
// never sent READY=1) resumes the back-off instead of starting at 1 s again
// (README "Readiness and watchdog"). Pure: the text codec and the decision
// to resume; the file, the clock and the boot id are client/backoff_store.
//
// The file, one "key value" line each, in this order:
//
//   enftun-backoff 2                               format version
//   boot_id 5a0e...-...                            /proc/sys/kernel/random/boot_id
//   written_ms 123456                              CLOCK_BOOTTIME, ms
//   remote fd00:100::1,router.example 443          remote.hosts and remote.port
//   identity sha256:0f3c...                        the client certificate's
//                                                  SHA-256 (of its DER)
//   attempt 6                                      Backoff::attempt() to resume at
//
// A record is resumed only from the same boot (boot id), when it is at most
// max_record_age_ms(cap) old by the boot clock (neither the wall clock's
// steps nor NTP at boot matter), for the same remote (a record of the hosts
// the config named before says nothing about new ones), made with the same
// certificate (a router that refused the old one, expired or revoked, may
// take a new one at once) and with attempt > 0. Version 1 (no identity
// line) is refused: the client connects at once, as without a record.
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
    std::string identity;         // identity_key(): the certificate they used
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

// "sha256:HEX" (64 lower-case digits) of the client certificate's DER, as
// `openssl x509 -outform DER | sha256sum`; "none" for an empty digest text.
std::string identity_key(std::string_view cert_sha256_hex);

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
    OtherBoot,     // written before the machine booted again
    Stale,         // older than max_record_age_ms
    FromFuture,    // written "after" now: not our clock
    OtherRemote,   // the attempts went to other hosts or another port
    OtherIdentity, // the attempts were made with another certificate
    NoBackoff,     // attempt 0: nothing to resume
};

// Whose attempts a record holds: what the client's config and certificate
// are now.
struct BackoffSubject {
    std::string remote;   // remote_key()
    std::string identity; // identity_key()
};

// What the client's start does with a record: now_ms and boot_id are this
// run's, subject its remote and certificate.
ResumeVerdict decide_resume(const BackoffRecord& record, std::string_view boot_id,
                            std::uint64_t now_ms, const BackoffSubject& subject,
                            std::uint64_t cap_ms);

// Log text: "written before this boot", ...
const char* to_string(ResumeVerdict verdict);

} // namespace enftun::conn
