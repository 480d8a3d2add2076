// NetEvent: one rtnetlink notification (RTM_NEW/DEL LINK, ADDR, ROUTE; see
// rtnetlink(7)) as a typed value. Parsing only: no policy, no syscalls, no
// casts of the received bytes (fixed headers are copied out with memcpy,
// attributes read through bounds-checked offsets), so the parser can be fed
// anything. Netlink fields are in host byte order (netlink(7)).
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace enftun::netlink {

enum class NetEventKind : std::uint8_t { Link, Address, Route };

struct NetEvent {
    NetEventKind kind = NetEventKind::Link;
    bool removed = false;          // RTM_DEL*
    std::uint8_t family = 0;       // AF_INET, AF_INET6 (AF_UNSPEC for most links)
    std::uint32_t ifindex = 0;     // link/address: its interface; route: RTA_OIF (0: none)
    std::uint8_t prefix_len = 0;   // address prefix length; route destination length
    std::uint32_t table = 0;       // route: RTA_TABLE, else rtm_table
    std::uint32_t priority = 0;    // route: RTA_PRIORITY (the metric)
    std::uint32_t link_flags = 0;  // link: IFF_* flags
    std::uint32_t link_change = 0; // link: ifi_change, the flags that changed
    bool wireless = false;         // link: carries IFLA_WIRELESS (a Wi-Fi driver event)
    // Address events: the address (IFA_LOCAL, else IFA_ADDRESS); route events:
    // the destination (RTA_DST; none for a default route). For the log.
    std::array<std::uint8_t, 16> addr{};
    std::uint8_t addr_len = 0;     // 4, 16, or 0 when absent
    std::array<char, 16> ifname{}; // link events: IFLA_IFNAME, NUL-terminated
};

// Parses one netlink message (header included). Errors:
//  - Unsupported: a well-formed message of another type (NLMSG_DONE, a
//    neighbour event, ...);
//  - Truncated: shorter than its netlink header or its fixed rtnetlink header;
//  - Malformed: nlmsg_len disagrees with the buffer, or an attribute's length
//    runs past the message.
Result<NetEvent> parse_net_event(Bytes msg);

// Splits one received datagram into messages and calls fn on each (the
// message bytes, header included). Stops at the first malformed header.
// Errors: Malformed (a header whose length is impossible), Truncated (bytes
// left over that cannot hold a header).
Status for_each_netlink_message(Bytes datagram, const std::function<void(Bytes msg)>& fn);

const char* to_string(NetEventKind kind);

// One line for the log: "route+ fd00:999::/64 dev 3 metric 1024 table 254",
// "address- fd00:100::2/64 dev 2", "link+ eth0 dev 2 down no-carrier".
std::string describe(const NetEvent& ev);

} // namespace enftun::netlink
