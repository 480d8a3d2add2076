// NdpResponder: the router-card side of Neighbor Discovery on the TUN.
// enftun plays the router fe80::1 of the link between itself and the host
// behind the TUN (the host's kernel configures itself from our RAs).
//
//   Router Solicitation        → RaSchedule::solicit(); the RA follows
//                                after a random 0..500 ms (RFC 4861 §6.2.6)
//   NS for fe80::1             → Neighbor Advertisement, at once, if the
//                                ReplyGate allows (else dropped, counted)
//   malformed RS / NS          → dropped and counted (RFC 4861 §6.1.1, §7.1.1)
//   any other ND message (an NS for another target, RA, NA, Redirect,
//   any ND behind extension headers or in a first fragment)
//                              → dropped and counted: ND is link-scoped
//                                (hop limit 255 proves "not forwarded",
//                                §6.1, §7.1), and the tunnel does not
//                                lower the hop limit, so one sent on would
//                                reach another link looking as if on-link
//   anything else              → not ours: the caller passes it on
//   stop()                     → one final RA with every lifetime 0
//
// The RA (RFC 4861 §4.2, RFC 4191): from fe80::1 to ff02::1, hop limit 255,
// Managed flag (addresses come from DHCPv6), router preference high, MTU
// option, a Route Information option per configured prefix with lifetime
// 3 × period and preference high, a router lifetime only when the prefixes
// include "default" (hosts without RFC 4191 support then still get the
// default route), and a source link-layer address option only when one is
// configured (a TUN has none).
//
// Timers: one (loop::Timer), armed for RaSchedule::next_deadline().
// Lifetime: owned by the client's RouterCard; `send` writes one packet to
// the TUN synchronously and must not destroy the responder. Each reply is
// built in the responder's own buffer, which is reused for the next one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "enftun/loop/loop.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ndp.hpp"
#include "enftun/routercard/ra_schedule.hpp"
#include "enftun/routercard/send_to_host.hpp"
#include "enftun/util/bytes.hpp"

namespace enftun::tunnel {

// A configured route prefix (route.prefixes; "default" is prefix_len 0).
struct NdpRoute {
    proto::Ipv6Addr prefix;
    std::uint8_t prefix_len = 0;
};

// A uniform random number in [0, bound].
using RaRandom = std::function<std::uint64_t(std::uint64_t bound)>;

struct NdpOptions {
    std::vector<NdpRoute> routes;
    bool default_router = false; // prefixes include "default"
    std::uint32_t mtu = 1280;    // MTU option (tun.mtu)
    std::optional<proto::LinkAddr> lladdr;
    std::uint64_t ra_period_ms = 600000;
    std::uint64_t ra_min_gap_ms = RaSchedule::kMinGapMs; // tests shorten it
    // The delay of an RA answering an RS is random(ra_max_delay_ms); an
    // empty `random` is a generator seeded from std::random_device.
    std::uint64_t ra_max_delay_ms = RaSchedule::kMaxDelayMs;
    RaRandom random;
};

struct NdpStats {
    std::uint64_t rs_received = 0;
    std::uint64_t ra_sent = 0;
    std::uint64_t ns_answered = 0;
    std::uint64_t malformed = 0;    // RS/NS dropped as invalid
    std::uint64_t ignored = 0;      // other ND messages, dropped unanswered
    std::uint64_t rate_limited = 0; // NS left unanswered: over the ReplyGate
    std::uint64_t send_errors = 0;
};

// A buffer that holds any RA we build: the link's minimum MTU (RFC 8200
// §5), so the RA reaches the host whatever the TUN's MTU is.
inline constexpr std::size_t kRaBufferLen = 1280;

// The RA we send for `opts`. Its Route Information options are written to
// `routes` (the params point into it): one per configured route, lifetime
// 3 × ra_period, preference high; at most as many as fit kRaBufferLen (the
// rest are dropped with a warning). The router lifetime is 3 × ra_period,
// capped at 65535 s (RFC 8319), when opts.default_router, else 0.
proto::RaParams make_ra_params(const NdpOptions& opts, std::vector<proto::RouteInfo>& routes);

// The RA a router sends when it stops being one (RFC 4861 §6.2.5): `ra`
// with router lifetime 0, and its Route Information options copied to
// `routes` with lifetime 0 (RFC 4191 §3.1: the host removes such a route),
// so the host forgets us now instead of up to 3 × ra_period later. The
// result points into `routes`.
proto::RaParams make_final_ra_params(const proto::RaParams& ra,
                                     std::vector<proto::RouteInfo>& routes);

class NdpResponder {
public:
    // `gate` is asked before each NA (not before RAs).
    NdpResponder(loop::Loop& loop, NdpOptions opts, SendToHost send, ReplyGate gate = {});
    ~NdpResponder() = default;
    NdpResponder(const NdpResponder&) = delete;
    NdpResponder& operator=(const NdpResponder&) = delete;

    // Sends the first RA (as soon as allowed) and the periodic ones.
    void start();
    // Stops the RAs. When started, first sends the final RA (see
    // make_final_ra_params) synchronously, so call it while the TUN is open.
    void stop();
    // The tunnel is up: advertise again so the host refreshes at once.
    void on_tunnel_up();
    // A new route.ra_period (a config reload): the lifetimes derived from it
    // change and an RA carrying them goes out as soon as allowed.
    void set_ra_period(std::uint64_t period_ms);

    // Offers one packet from the host. True if it was an ND message (RFC
    // 4861 types 133-137, valid or not, behind extension headers or not),
    // which this responder consumed (answered or dropped); false for
    // anything else.
    bool consume(const proto::Ipv6View& ip);

    const NdpStats& stats() const { return stats_; }

private:
    void trigger();
    void arm();
    void on_timer();
    // The length sent, or nullopt when the RA could not be built or written.
    std::optional<std::size_t> send_ra(const proto::RaParams& params);
    void answer_ns(const proto::Ipv6View& ip);
    bool consume_wrapped(const proto::Ipv6View& ip);
    void ignore(std::uint8_t type);

    loop::Loop& loop_; // outlives the responder
    std::vector<proto::RouteInfo> routes_;
    proto::RaParams ra_params_; // points into routes_
    SendToHost send_;
    ReplyGate gate_;
    std::uint64_t ra_max_delay_ms_;
    RaRandom random_;
    RaSchedule schedule_;
    loop::Timer timer_;
    bool running_ = false;
    NdpStats stats_;
    std::array<std::uint8_t, kRaBufferLen> ra_buf_{};
    std::array<std::uint8_t, 128> na_buf_{};
};

} // namespace enftun::tunnel
