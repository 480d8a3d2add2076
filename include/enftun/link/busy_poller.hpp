// BusyPoller: runs a BusyPollPolicy (link/busy_poll.hpp) on a loop. The
// client and the router report each packet event to it; while the policy
// says spin, an idle handle keeps the loop polling without sleeping, and
// every iteration yields the CPU once, so that the thread that produces the
// awaited packet (ping, a softirq, the daemon at the other end on the same
// machine) is never kept waiting by the spin.
#pragma once

#include "enftun/link/busy_poll.hpp"
#include "enftun/loop/loop.hpp"

#include <cstddef>
#include <cstdint>

namespace enftun::tunnel {

class BusyPoller {
public:
    using Side = BusyPollPolicy::Side;

    // window_us 0: never spins.
    BusyPoller(loop::Loop& loop, std::uint32_t window_us);

    void on_event(Side side, std::size_t packets);
    void stop() { idle_.stop(); }
    // A new window (a config reload); 0: never spins again.
    void set_window(std::uint32_t window_us);

    const BusyPollPolicy& policy() const { return policy_; }

private:
    void on_iteration();

    BusyPollPolicy policy_;
    loop::Idle idle_;
};

} // namespace enftun::tunnel
