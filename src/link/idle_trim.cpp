#include "enftun/link/idle_trim.hpp"

namespace enftun::tunnel {

bool IdleTrimPolicy::on_tick(std::uint64_t packets) {
    if (packets != last_packets_) {
        last_packets_ = packets;
        trimmed_ = false;
        return false;
    }
    if (trimmed_) {
        return false;
    }
    trimmed_ = true;
    return true;
}

void IdleTrimPolicy::on_trimmed(std::uint64_t packets) {
    last_packets_ = packets;
    trimmed_ = true;
}

} // namespace enftun::tunnel
