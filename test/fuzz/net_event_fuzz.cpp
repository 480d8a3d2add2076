// Fuzz target: the rtnetlink notification parser (netlink/net_event). The
// input is one received datagram: split into messages, each parsed and, when
// accepted, described for the log. Checks that a message is never read past
// its own length, that an accepted event's fields hold what the parser
// promises (address length, NUL-terminated name) and that parsing one whole
// message agrees with the splitter.
// Seeds (corpus/net_event): kernel-layout RTM_NEWLINK, RTM_NEWADDR,
// RTM_DELROUTE and a three-message datagram, as libmnl builds them.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "enftun/netlink/net_event.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes in(data, size);
    std::size_t seen = 0;
    auto st = netlink::for_each_netlink_message(in, [&](Bytes msg) {
        FUZZ_CHECK(msg.data() >= in.data() && msg.data() + msg.size() <= in.data() + in.size());
        ++seen;
        auto ev = netlink::parse_net_event(msg);
        if (!ev) {
            return;
        }
        FUZZ_CHECK(ev->addr_len == 0 || ev->addr_len == 4 || ev->addr_len == 16);
        FUZZ_CHECK(std::memchr(ev->ifname.data(), 0, ev->ifname.size()) != nullptr);
        FUZZ_CHECK(!netlink::describe(*ev).empty());
    });
    // The whole input as one message: accepted only if it is one valid message.
    auto whole = netlink::parse_net_event(in);
    if (whole) {
        FUZZ_CHECK(seen >= 1);
    }
    (void)st;
    return 0;
}
