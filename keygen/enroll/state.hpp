// The state file: every certificate the service issued, one line each,
// oldest first. Plain text so an operator can read it, and grep it:
//
//   # enftun-enroll state v1: ADDRESS USER SERIAL NOT_AFTER REVOKED [IPV4] [from=SERIAL key=SHA256]
//   fd00:e::5 ops@example 3F0A...19 1796480000 0
//   fd00:e::9 ops@example 7B21...C4 1796480100 0 198.18.0.2
//   fd00:e::5 ops@example 5C3D...02 1799072000 0 from=3F0A...19 key=9b1f...e4
//
// ADDRESS in RFC 5952 form, USER the login that enrolled it (renewals keep
// it), SERIAL upper-case hex, NOT_AFTER in seconds since the epoch, REVOKED
// 0 or 1, IPV4 the certificate's IPv4 address (dotted quad) when it has one:
// a line without it is written, and read, with five fields, so files from
// before IPv4 load unchanged. A renewal's line ends with from=SERIAL (the
// certificate it renewed) and key=SHA256 (lower-case hex SHA-256 of its
// public key, DER SubjectPublicKeyInfo): only the newest certificate of an
// address (its last line) renews; the one before it only retries that
// renewal (same key: the same certificate again). Lines without them (an
// enrolment, or a file from before) load unchanged. An address (IPv6 or IPv4) with any line is
// taken for good: a revoked address is not handed out again, so a stolen
// certificate can never come to speak for a new device.
//
// The file is only ever replaced whole (common/atomic_file.hpp). Writers
// and readers that act on its content (service allocation, `revoke`) hold
// StateLock, an flock on "<state_file>.lock": the lock must live on a file
// that is never renamed over, or two processes could hold locks on two
// different inodes.
#pragma once

#include "common/failure.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::enroll {

struct Enrolment {
    proto::Ipv6Addr address{};
    std::string user;
    std::string serial; // upper-case hex, as keygen::serial_hex writes it
    std::int64_t not_after = 0;
    bool revoked = false;
    std::optional<proto::Ipv4Addr> ipv4; // none: the certificate has no IPv4
    std::string renewed_from;            // a renewal: the serial it renewed; else ""
    std::string key_sha256;              // a renewal: its public key's SHA-256 (hex); else ""

    friend bool operator==(const Enrolment&, const Enrolment&) = default;
};

struct State {
    std::vector<Enrolment> entries;

    bool holds(const proto::Ipv6Addr& addr) const;
    bool holds(const proto::Ipv4Addr& addr) const;
    // Every IPv4 address with a line: built once per allocation, which
    // then looks up each candidate in it (the pool fills from the bottom).
    std::set<proto::Ipv4Addr> ipv4_addresses() const;
    const Enrolment* by_serial(std::string_view serial) const;
    // The newest certificate of addr (its last line), or null.
    const Enrolment* newest_of(const proto::Ipv6Addr& addr) const;
    // How many addresses user holds a live certificate for (not revoked,
    // not_after >= now): a device and its renewals count once.
    std::size_t active_addresses_of(std::string_view user, std::int64_t now) const;
    // Marks every certificate of addr (its IPv6 address, or its IPv4 one)
    // revoked; returns how many changed.
    std::size_t revoke(const proto::Ipv6Addr& addr);
    std::size_t revoke(const proto::Ipv4Addr& addr);
    // Marks every certificate of addr but the one with keep_serial revoked
    // (the device has shown it holds that one: the others are retired);
    // returns how many changed. The address stays the device's.
    std::size_t retire_all_but(const proto::Ipv6Addr& addr, std::string_view keep_serial);
    // The revoked serials whose recorded end is not before now (not_after
    // >= now): what the CRL lists, with now a day back (Registry). RFC 5280
    // (section 3.3) lets a CRL drop a certificate past its notAfter once
    // one CRL issued after that end has listed it, so the CRL of a fleet
    // renewing every year does not grow without bound; the state file
    // keeps them all. now = 0: every revoked serial.
    std::vector<std::string> revoked_serials(std::int64_t now) const;
};

// Errors: "NAME:LINE: reason" for a line that is not five valid fields,
// an optional valid IPv4 address, and from=SERIAL key=SHA256 together or
// not at all.
keygen::Outcome<State> parse_state(std::string_view text, const std::string& name);
std::string format_state(const State& state);

// A missing file is an empty state. Errors: unreadable file, parse errors.
keygen::Outcome<State> load_state(const std::string& path);
// Atomic and durable: temp file, fsync, rename, fsync of the folder.
keygen::Outcome<void> save_state(const std::string& path, const State& state);

// An exclusive flock on "<state_path>.lock" (created 0600) for as long as
// the object lives. Blocks until the lock is free.
class StateLock {
public:
    // Errors: cannot open or lock the lock file.
    static keygen::Outcome<StateLock> acquire(const std::string& state_path);

private:
    explicit StateLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_; // closing it releases the lock
};

} // namespace enftun::enroll
