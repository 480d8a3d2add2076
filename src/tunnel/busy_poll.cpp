#include "enftun/tunnel/busy_poll.hpp"

#include <algorithm>

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
    if (skip_ > 0) {
        --skip_; // backing off: recent spins caught nothing
        return false;
    }
    spinning_ = true;
    empty_polls_ = 0; // the packet that starts it is no catch
    caught_ = 0;
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
        if (empty_polls_ > 0) {
            ++hits_;
            ++caught_;
        }
        empty_polls_ = 0;
        last_packet_ns_ = now_ns;
    } else {
        ++empty_polls_;
    }
    if (bulk_) {
        spinning_ = false; // no verdict: bulk traffic, not a quiet window
        bulk_ = false;
        return false;
    }
    if (now_ns - last_packet_ns_ >= window_ns_) {
        spinning_ = false;
        end_spell();
        return false;
    }
    return true;
}

// A spell that caught a packet pays for itself and resets the back-off;
// one that caught none doubles the one-packet events to let pass before the
// next spell, up to kMaxSkip.
void BusyPollPolicy::end_spell() {
    if (caught_ > 0) {
        backoff_ = 0;
        return;
    }
    ++misses_;
    backoff_ = std::min(backoff_ * 2 + 1, kMaxSkip);
    skip_ = backoff_;
}

} // namespace enftun::tunnel
