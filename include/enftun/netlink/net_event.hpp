// NetEvent: one rtnetlink notification (RTM_NEW/DEL LINK, ADDR, ROUTE; see
// rtnetlink(7)) as a typed value. Parsing only: no policy, no syscalls, no
// casts of the received bytes (fixed headers are copied out with memcpy,
// attributes read through bounds-checked offsets), so the parser can be fed
// anything. Netlink fields are in host byte order (netlink(7)).
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include <cstdint>
#include <functional>

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

} // namespace enftun::netlink
