#include "enftun/link/busy_poll.hpp"

namespace enftun::tunnel {

bool BusyPollPolicy::on_event(Side side, std::size_t packets) {
    if (packets == 0) {
        return false;
    }
    const bool single = packets == 1;
    single_[index(side)] = single;
    packet_ = true;
    if (!single) {
        if (spinning_) {
            bulk_ = true; // the next iteration stops
        }
        return false;
    }
    if (!enabled() || spinning_ || !single_[index(Side::Tun)] || !single_[index(Side::Link)]) {
        return false;
    }
    spinning_ = true;
    polled_empty_ = false; // the packet that starts it is no catch
    bulk_ = false;
    ++spins_;
    return true;
}

bool BusyPollPolicy::on_iteration(std::uint64_t now_ns) {
    if (!spinning_) {
        return false;
    }
    if (packet_) {
        packet_ = false;
        if (polled_empty_) {
            ++hits_;
        }
        polled_empty_ = false;
        last_packet_ns_ = now_ns;
    } else {
        polled_empty_ = true;
    }
    if (bulk_ || now_ns - last_packet_ns_ >= window_ns_) {
        spinning_ = false;
        bulk_ = false;
        return false;
    }
    return true;
}

} // namespace enftun::tunnel
