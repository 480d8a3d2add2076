#include "enroll/login_limiter.hpp"

#include "enftun/proto/ipv6_addr.hpp"

#include <algorithm>

namespace enftun::enroll {

std::string LoginLimiter::source_key(const std::string& remote_addr) {
    auto addr = proto::Ipv6Addr::parse(remote_addr);
    if (!addr) {
        return remote_addr; // IPv4 (or anything else): the address itself
    }
    // ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket: one address.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, addr->bytes.begin())) {
        return remote_addr;
    }
    std::fill(addr->bytes.begin() + 8, addr->bytes.end(), std::uint8_t{0});
    return addr->to_string() + "/64";
}

bool LoginLimiter::allowed(const std::string& remote_addr, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = sources_.find(source_key(remote_addr));
    if (it == sources_.end()) {
        return true;
    }
    if (now - it->second.window_start >= kWindow) {
        sources_.erase(it);
        return true;
    }
    return it->second.failures < kMaxFailures;
}

void LoginLimiter::record_failure(const std::string& remote_addr, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const std::string key = source_key(remote_addr);
    auto it = sources_.find(key);
    if (it != sources_.end() && now - it->second.window_start >= kWindow) {
        sources_.erase(it);
        it = sources_.end();
    }
    if (it == sources_.end()) {
        if (sources_.size() >= kMaxSources) {
            std::erase_if(sources_,
                          [&](const auto& kv) { return now - kv.second.window_start >= kWindow; });
        }
        if (sources_.size() >= kMaxSources) {
            sources_.erase(std::min_element(sources_.begin(), sources_.end(), [](auto& a, auto& b) {
                return a.second.window_start < b.second.window_start;
            }));
        }
        it = sources_.emplace(key, Entry{now, 0}).first;
    }
    ++it->second.failures;
}

} // namespace enftun::enroll
