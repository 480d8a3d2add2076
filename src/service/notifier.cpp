#include "enftun/service/notifier.hpp"

#include "enftun/log/log.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <ctime>
#include <utility>

namespace enftun::service {

namespace {

// STATUS= texts longer than this are cut: systemctl shows one line.
constexpr std::size_t kMaxStatus = 200;

std::uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

} // namespace

Notifier::Notifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket != nullptr && socket[0] != '\0';
}

std::string Notifier::sanitize(std::string_view text) {
    std::string out;
    out.reserve(std::min(text.size(), kMaxStatus));
    for (const char ch : text.substr(0, kMaxStatus)) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(c < 0x20 || c >= 0x7f ? '?' : ch);
    }
    return out;
}

void Notifier::send(const std::string& message) {
    if (!enabled_) {
        return;
    }
    // Best effort (see the header); unset_environment 0: the next message
    // needs NOTIFY_SOCKET too.
    if (sd_notify(0, message.c_str()) < 0) {
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "sd_notify failed");
    }
}

void Notifier::ready() {
    if (ready_) {
        return;
    }
    ready_ = true;
    ENFTUN_LOG_DEBUG("service manager: ready");
    send("READY=1");
}

void Notifier::status(std::string_view text) {
    std::string line = sanitize(text);
    if (line == last_status_) {
        return;
    }
    send("STATUS=" + line);
    last_status_ = std::move(line);
}

void Notifier::reloading() {
    ready_before_reload_ = ready_ || ready_before_reload_;
    ready_ = false;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

void Notifier::ready_after_reload() {
    if (std::exchange(ready_before_reload_, false)) {
        ready();
    }
}

void Notifier::stopping() {
    send("STOPPING=1");
}

void Notifier::watchdog() {
    send("WATCHDOG=1");
}

} // namespace enftun::service
