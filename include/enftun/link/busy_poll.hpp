// BusyPollPolicy: while traffic is ping-pong, keep the loop polling without
// sleeping for a short window after each packet, so that the next packet
// (the router's reply to the one just sent, or the application's next
// request) finds the thread awake.
//
// Why: a ping-pong round trip through the tunnel wakes the client twice, and
// waking a thread whose CPU has gone idle is the largest single cost of a
// small packet's trip: the waker sends an inter-processor interrupt and the
// idle CPU has to leave its sleep state (in a VM, a hypervisor exit). A
// spinning client catches both without either (bench/README.md, "Latency").
//
// It costs CPU, so it is confined to where it pays:
// - only ping-pong: the last event of each side (TUN and link) moved one
//   packet. Bulk transfers move several per event in at least one direction;
//   they gain nothing from it (the thread is awake anyway) and would lose
//   the CPU the spin takes from the application and the kernel;
// - a several-packet event while spinning stops the spin;
// - it is bounded: one window of CPU per ping-pong packet at most. Sparse
//   traffic (pings 10 ms apart) spins once per packet and catches nothing,
//   yet on the 2-vCPU VM of bench/README.md it still took the RTT from
//   0.31 to 0.13-0.23 ms: a CPU that was running a moment ago wakes faster
//   than one that has halted. Backing off such spells (tried: skip 1, 3,
//   ... 63 events after a spell that caught nothing) took that gain away;
// - idle costs nothing: every quiet spell starts with at most one window.
// `busy_poll_us` (client tun.busy_poll_us, router router.busy_poll_us)
// sets the window; 0, the default, turns it off: it is an opt-in for
// latency (about half a core for 1000 request-response exchanges a second,
// bench/README.md), not something a fleet should pay for by default.
//
// A hit is a packet found by a poll after an empty one, i.e. where the
// thread would have slept; a packet already waiting when the spell starts
// (the router's answer from its own TUN) is none.
//
// The owner reports each event's packet count with on_event() and, while
// spinning, calls on_iteration() once per loop iteration before its
// non-blocking poll:
//
//   Asleep ──on_event: one packet, and the other side's last event
//     ▲         moved one too: start spinning (true)─────────────► Spinning
//     │                                                          │ on_iteration: a packet
//     │                                                          │ since the last one
//     │                                                          │ restarts the window
//     └──on_iteration: window passed, or a several-packet event: stop (false)
//
// Pure state machine: the owner passes the time and runs the loop handle.
#pragma once

#include <cstddef>
#include <cstdint>

namespace enftun::tunnel {

class BusyPollPolicy {
public:
    enum class Side { Tun, Link };

    // window_ns 0: never spin.
    explicit BusyPollPolicy(std::uint64_t window_ns) : window_ns_(window_ns) {}

    bool enabled() const { return window_ns_ != 0; }
    // A new window (a config reload); 0 stops spinning at the next iteration.
    void set_window(std::uint64_t window_ns) { window_ns_ = window_ns; }
    // An event of `side` moved `packets` packets (0: nothing happened). True
    // if the owner must start spinning now.
    bool on_event(Side side, std::size_t packets);
    // One loop iteration while spinning, at now_ns (monotonic). False: the
    // window passed without a packet, or bulk traffic came; the owner stops
    // spinning.
    bool on_iteration(std::uint64_t now_ns);

    bool spinning() const { return spinning_; }
    std::uint64_t spins() const { return spins_; } // times spinning started
    // Packets caught by a non-blocking poll after an empty one: each one a
    // wake-up the thread did not need.
    std::uint64_t hits() const { return hits_; }

private:
    static int index(Side side) { return static_cast<int>(side); }

    std::uint64_t window_ns_;
    std::uint64_t last_packet_ns_ = 0;
    std::uint64_t spins_ = 0;
    std::uint64_t hits_ = 0;
    bool spinning_ = false;
    bool packet_ = false;       // since the last iteration
    bool polled_empty_ = false; // an iteration without a packet since the last one
    bool bulk_ = false;         // a several-packet event since the last iteration
    bool single_[2] = {};       // per side: its last event moved one packet
};

} // namespace enftun::tunnel
