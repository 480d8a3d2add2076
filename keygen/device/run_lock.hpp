// One enftun-keygen at a time per identity: two runs at once (a renewal
// timer and an operator) could each make a pending key and renew, and the
// service, having recorded one renewal, refuses the other key for good
// (403 superseded): the device stranded. Every run therefore holds an
// exclusive flock on "KEY_FILE.lock" (0600, created when missing, never
// deleted: deleting it would let a third run lock a new file while the
// second holds the old one) from before it repairs or reads anything until
// it exits. A second run does not wait: it fails at once (the first may
// be paused at a prompt for minutes), and says to run again later.
#pragma once

#include "common/failure.hpp"

#include <string>

namespace enftun::keygen {

// Holds the lock until destroyed (closes the file).
class RunLock {
public:
    RunLock() = default;
    explicit RunLock(int fd) : fd_(fd) {}
    RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    RunLock& operator=(RunLock&&) = delete;
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock();

private:
    int fd_ = -1;
};

std::string run_lock_file(const std::string& key_file);

// Errors: another run holds the lock (`another enftun-keygen is running for
// KEY_FILE (KEY_FILE.lock is locked): run again once it has finished`);
// the lock file cannot be opened or locked (with strerror).
Outcome<RunLock> lock_identity(const std::string& key_file);

} // namespace enftun::keygen
