#include "enftun/tunnel/busy_poll.hpp"

namespace enftun::tunnel {

bool BusyPollPolicy::on_packet() {
    packet_ = true;
    if (!enabled() || spinning_) {
        return false;
    }
    spinning_ = true;
    woken_ = true;
    ++spins_;
    return true;
}

bool BusyPollPolicy::on_iteration(std::uint64_t now_ns) {
    if (!spinning_) {
        return false;
    }
    if (packet_) {
        packet_ = false;
        if (!woken_) {
            ++hits_;
        }
        woken_ = false;
        last_packet_ns_ = now_ns;
        return true;
    }
    if (now_ns - last_packet_ns_ < window_ns_) {
        return true;
    }
    spinning_ = false;
    return false;
}

} // namespace enftun::tunnel
