// Dhcpv6Responder: a one-address DHCPv6 server (RFC 8415) for the host
// behind the TUN. The only address it hands out is the tunnel's own (the
// certificate's), so the host can take it with an ordinary DHCPv6 client
// when enftun does not put it on the TUN itself (tun.set_address = false).
//
//   Solicit                  → Advertise (Preference 255: take it at once),
//                              or Reply when it asks for Rapid Commit
//   Request, Renew, Rebind   → Reply with the lease; any further IA_NA
//                              back empty with NoAddrsAvail inside; in a
//                              Renew/Rebind, the client's other addresses
//                              back with lifetimes 0 (§18.3.4, §18.3.5)
//   IA_PD (prefix delegation) → back empty: NoPrefixAvail inside to a
//                              Solicit/Request, NoBinding to a Renew/Rebind
//                              (the card delegates no prefix); no top-level
//                              NoAddrsAvail when there is no IA_NA
//   Release, Decline         → Reply, status Success (RFC 8415 §18.3.7-8)
//   Confirm                  → Reply, Success if the client's address is
//                              ours, NotOnLink if not (§18.3.3)
//   Information-request      → Reply (we have no other configuration)
//   Server ID not ours       → ignored (the message is for another server)
//   malformed / wrong type   → dropped and counted
//   over the ReplyGate       → dropped and counted (RouterCard's budget)
//
// Every answer echoes the client's Client ID and transaction ID and carries
// our Server ID. Messages are taken from UDP port 547 sent to ff02::1:2 or
// fe80::1; the answer goes from fe80::1:547 to the client's address and port.
//
// Lifetime: owned by the client's RouterCard; no timers, no state per
// client; the reply is built in the responder's own buffer and written
// synchronously through `send`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "enftun/proto/dhcpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/routercard/send_to_host.hpp"
#include "enftun/util/bytes.hpp"

namespace enftun::tunnel {

// Lease times, in seconds. The address never changes while the certificate
// does not, so they only bound how long a host keeps it after enftun is
// gone. T1/T2 are 0.5 and 0.8 of the preferred lifetime (RFC 8415 §21.4).
inline constexpr std::uint32_t kLeasePreferredS = 3600;
inline constexpr std::uint32_t kLeaseValidS = 7200;
inline constexpr std::uint32_t kLeaseT1S = 1800;
inline constexpr std::uint32_t kLeaseT2S = 2880;

struct Dhcpv6Stats {
    std::uint64_t answered = 0;
    std::uint64_t malformed = 0; // invalid UDP or DHCPv6
    std::uint64_t ignored = 0;   // another server's, or not a client message
    std::uint64_t send_errors = 0;
    std::uint64_t rate_limited = 0; // left unanswered: over the ReplyGate
};

// The answer to `msg` (which passed check_client_message), or nullopt when
// the server stays silent. `server_duid` and msg's spans must outlive the
// result. Pure; exposed for the unit tests.
std::optional<proto::Dhcpv6ServerMessage> plan_dhcpv6_answer(const proto::Dhcpv6View& msg,
                                                             const proto::Ipv6Addr& lease_addr,
                                                             Bytes server_duid);

class Dhcpv6Responder {
public:
    // lease_addr: the tunnel's address; server_duid: 3..130 bytes; `gate`
    // is asked before each answer.
    Dhcpv6Responder(proto::Ipv6Addr lease_addr, std::vector<std::uint8_t> server_duid,
                    SendToHost send, ReplyGate gate = {});
    Dhcpv6Responder(const Dhcpv6Responder&) = delete;
    Dhcpv6Responder& operator=(const Dhcpv6Responder&) = delete;

    // Offers one packet from the host. True if it was a DHCPv6 message to
    // a server on this link (answered, ignored or dropped); false otherwise.
    bool consume(const proto::Ipv6View& ip);

    const Dhcpv6Stats& stats() const { return stats_; }
    Bytes server_duid() const { return duid_; }

private:
    void answer(const proto::Ipv6View& ip, std::uint16_t client_port,
                const proto::Dhcpv6ServerMessage& m);

    proto::Ipv6Addr lease_addr_;
    std::vector<std::uint8_t> duid_;
    SendToHost send_;
    ReplyGate gate_;
    Dhcpv6Stats stats_;
    std::array<std::uint8_t, 1280> buf_{};
};

} // namespace enftun::tunnel
