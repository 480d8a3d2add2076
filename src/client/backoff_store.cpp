#include "enftun/client/backoff_store.hpp"

#include "enftun/conn/backoff_record.hpp"
#include "enftun/fs/atomic_file.hpp"
#include "enftun/fs/small_file.hpp"
#include "enftun/log/log.hpp"
#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace enftun::tunnel {

namespace {

// The boot clock: counts through suspend, never steps (unlike the wall
// clock, which NTP may set right after a boot), and restarts at each boot.
std::uint64_t boot_clock_ms() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

std::string read_boot_id() {
    auto text = fs::read_small_file("/proc/sys/kernel/random/boot_id", 64);
    if (!text || text->empty()) {
        return "unknown";
    }
    std::string id = *text;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    return id.empty() ? "unknown" : id;
}

} // namespace

BackoffStore::BackoffStore(std::string path) : path_(std::move(path)), boot_id_(read_boot_id()) {}

std::optional<BackoffStore::Resumed> BackoffStore::load(const conn::BackoffSubject& subject,
                                                        std::uint64_t cap_ms) {
    auto text = fs::read_small_file(path_, conn::kMaxBackoffRecordBytes);
    if (!text) {
        if (text.error().sys != ENOENT) {
            ENFTUN_LOG_WARN(
                "back-off record %s ignored: %s", path_.c_str(),
                text.error().code == Errc::Malformed
                    ? text.error().what
                    : (std::string("cannot read it: ") + strerror(text.error().sys)).c_str());
        }
        return std::nullopt;
    }
    auto record = conn::parse_backoff_record(*text);
    if (!record) {
        ENFTUN_LOG_WARN("back-off record %s ignored: %s", path_.c_str(), record.error().c_str());
        return std::nullopt;
    }
    const std::uint64_t now = boot_clock_ms();
    const auto verdict = conn::decide_resume(*record, boot_id_, now, subject, cap_ms);
    if (verdict != conn::ResumeVerdict::Resume) {
        ENFTUN_LOG_INFO("back-off record %s ignored: %s", path_.c_str(), to_string(verdict));
        return std::nullopt;
    }
    return Resumed{record->attempt, now - record->written_ms};
}

void BackoffStore::save(const conn::BackoffSubject& subject, unsigned attempt) {
    const conn::BackoffRecord record{boot_id_, boot_clock_ms(), subject.remote, subject.identity,
                                     attempt};
    auto st = fs::write_file_atomically(path_, conn::encode_backoff_record(record), 0600);
    if (!st) {
        if (!std::exchange(write_failed_, true)) {
            ENFTUN_LOG_WARN("%s; the reconnect back-off will not survive a restart",
                            st.error().message.c_str());
        } else {
            ENFTUN_LOG_DEBUG("%s", st.error().message.c_str());
        }
        return;
    }
    write_failed_ = false;
}

void BackoffStore::clear() {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        ENFTUN_LOG_WARN("cannot remove back-off record %s: %s", path_.c_str(), strerror(errno));
    }
}

} // namespace enftun::tunnel
