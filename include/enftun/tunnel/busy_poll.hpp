// BusyPollPolicy: after a packet, keep the loop polling without sleeping for
// a short window, so that the next packet (the router's reply to the one just
// sent, or the application's next request) finds the thread awake.
//
// Why: a ping-pong round trip through the tunnel wakes the client twice, and
// waking a thread whose CPU has gone idle is the largest single cost of a
// small packet's trip: the waker sends an inter-processor interrupt and the
// idle CPU has to leave its sleep state (in a VM, a hypervisor exit). A
// spinning client catches both without either (bench/README.md, "Latency").
// It costs CPU: while packets keep coming within the window, one core stays
// busy, and every quiet spell starts with up to one window of spinning.
// Hence off by default (`tun.busy_poll_us`).
//
// The owner reports packets with on_packet() and, while spinning, calls
// on_iteration() once per loop iteration before its non-blocking poll:
//
//   Asleep ──on_packet: start spinning (true)──► Spinning
//     ▲                                             │ on_iteration: a packet since
//     │                                             │ the last one restarts the window
//     └──on_iteration: window passed, stop (false)──┘
//
// Pure state machine: the owner passes the time and runs the loop handle.
#pragma once

#include <cstdint>

namespace enftun::tunnel {

class BusyPollPolicy {
public:
    // window_ns 0: never spin.
    explicit BusyPollPolicy(std::uint64_t window_ns) : window_ns_(window_ns) {}

    bool enabled() const { return window_ns_ != 0; }
    // A packet moved. True if the owner must start spinning now.
    bool on_packet();
    // One loop iteration while spinning, at now_ns (monotonic). False: the
    // window passed without a packet; the owner stops spinning.
    bool on_iteration(std::uint64_t now_ns);

    bool spinning() const { return spinning_; }
    std::uint64_t spins() const { return spins_; } // times spinning started
    // Loop iterations whose non-blocking poll brought a packet: each one a
    // wake-up the thread did not need.
    std::uint64_t hits() const { return hits_; }

private:
    std::uint64_t window_ns_;
    std::uint64_t last_packet_ns_ = 0;
    std::uint64_t spins_ = 0;
    std::uint64_t hits_ = 0;
    bool spinning_ = false;
    bool packet_ = false; // since the last iteration
    bool woken_ = false;  // that packet came from a poll that slept
};

} // namespace enftun::tunnel
