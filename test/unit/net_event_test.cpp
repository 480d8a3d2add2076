// Unit tests for netlink/net_event: rtnetlink notifications built with
// libmnl (the same layout the kernel sends) parsed into NetEvents, the
// datagram splitter, and every malformed or truncated shape rejected
// without reading out of bounds (ASan build).
#include "enftun/netlink/net_event.hpp"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

#include "test.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::netlink::NetEvent;
using enftun::netlink::NetEventKind;
using enftun::netlink::parse_net_event;

namespace {

// A message buffer; libmnl's builders need 4-byte alignment.
struct Msg {
    alignas(4) std::array<std::uint8_t, 512> buf{};
    nlmsghdr* nlh = nullptr;
    Bytes bytes() const { return Bytes(buf.data(), nlh->nlmsg_len); }
};

void put_header(Msg& m, std::uint16_t type) {
    m.nlh = mnl_nlmsg_put_header(m.buf.data());
    m.nlh->nlmsg_type = type;
}

void make_link(Msg& m, std::uint16_t type, int ifindex, unsigned flags, unsigned change) {
    put_header(m, type);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = flags;
    ifi->ifi_change = change;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, "eth0");
    mnl_attr_put_u32(m.nlh, IFLA_MTU, 1500);
}

void make_addr(Msg& m, std::uint16_t type, std::uint8_t family, unsigned ifindex,
               std::uint8_t plen) {
    put_header(m, type);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = family;
    ifa->ifa_prefixlen = plen;
    ifa->ifa_index = ifindex;
    std::array<std::uint8_t, 16> addr{0xfd, 0, 0, 1};
    mnl_attr_put(m.nlh, IFA_ADDRESS, family == AF_INET6 ? 16 : 4, addr.data());
}

rtmsg* make_route(Msg& m, std::uint16_t type, std::uint8_t family, std::uint8_t dst_len) {
    put_header(m, type);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    rtm->rtm_dst_len = dst_len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_type = RTN_UNICAST;
    return rtm;
}

void test_link_up(void**) {
    Msg m;
    make_link(m, RTM_NEWLINK, 7, IFF_UP | IFF_LOWER_UP, IFF_UP);
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_int_equal(ev->kind, NetEventKind::Link);
    assert_false(ev->removed);
    assert_int_equal(ev->ifindex, 7);
    assert_int_equal(ev->link_flags, IFF_UP | IFF_LOWER_UP);
    assert_int_equal(ev->link_change, IFF_UP);
    assert_false(ev->wireless);
}

void test_link_removed_and_wireless(void**) {
    Msg m;
    make_link(m, RTM_DELLINK, 3, 0, 0);
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_true(ev->removed);

    Msg w;
    make_link(w, RTM_NEWLINK, 4, IFF_UP, 0);
    std::array<std::uint8_t, 8> iw{};
    mnl_attr_put(w.nlh, IFLA_WIRELESS, iw.size(), iw.data());
    auto wev = parse_net_event(w.bytes());
    assert_true(wev.has_value());
    assert_true(wev->wireless);
}

void test_address_events(void**) {
    Msg m;
    make_addr(m, RTM_NEWADDR, AF_INET6, 9, 64);
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_int_equal(ev->kind, NetEventKind::Address);
    assert_int_equal(ev->family, AF_INET6);
    assert_int_equal(ev->ifindex, 9);
    assert_int_equal(ev->prefix_len, 64);
    assert_false(ev->removed);

    Msg d;
    make_addr(d, RTM_DELADDR, AF_INET, 2, 24);
    auto dev = parse_net_event(d.bytes());
    assert_true(dev.has_value());
    assert_int_equal(dev->family, AF_INET);
    assert_true(dev->removed);
}

void test_route_attributes(void**) {
    Msg m;
    make_route(m, RTM_NEWROUTE, AF_INET6, 48);
    mnl_attr_put_u32(m.nlh, RTA_OIF, 5);
    mnl_attr_put_u32(m.nlh, RTA_PRIORITY, 1024);
    mnl_attr_put_u32(m.nlh, RTA_TABLE, 2097); // above 255: only in the attribute
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_int_equal(ev->kind, NetEventKind::Route);
    assert_int_equal(ev->family, AF_INET6);
    assert_int_equal(ev->prefix_len, 48);
    assert_int_equal(ev->ifindex, 5);
    assert_int_equal(ev->priority, 1024);
    assert_int_equal(ev->table, 2097);
}

void test_route_without_attributes(void**) {
    Msg m;
    make_route(m, RTM_DELROUTE, AF_INET, 0);
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_true(ev->removed);
    assert_int_equal(ev->table, RT_TABLE_MAIN);
    assert_int_equal(ev->ifindex, 0);
}

void test_other_types_unsupported(void**) {
    for (std::uint16_t type : {std::uint16_t{RTM_NEWNEIGH}, std::uint16_t{NLMSG_DONE},
                               std::uint16_t{NLMSG_ERROR}, std::uint16_t{RTM_NEWRULE}}) {
        Msg m;
        put_header(m, type);
        mnl_nlmsg_put_extra_header(m.nlh, 32);
        auto ev = parse_net_event(m.bytes());
        assert_false(ev.has_value());
        assert_int_equal(ev.error().code, Errc::Unsupported);
    }
}

void test_truncated_shapes(void**) {
    Msg m;
    make_route(m, RTM_NEWROUTE, AF_INET6, 64);
    Bytes full = m.bytes();
    // Shorter than the netlink header.
    assert_int_equal(parse_net_event(full.first(10)).error().code, Errc::Truncated);
    // nlmsg_len claims more than we have.
    assert_int_equal(parse_net_event(full.first(20)).error().code, Errc::Malformed);
    // nlmsg_len itself too short for the rtmsg.
    m.nlh->nlmsg_len = NLMSG_HDRLEN + 4;
    assert_int_equal(parse_net_event(m.bytes()).error().code, Errc::Truncated);
    // nlmsg_len below the header size.
    m.nlh->nlmsg_len = 8;
    assert_int_equal(parse_net_event(Bytes(m.buf.data(), 64)).error().code, Errc::Malformed);
}

void test_bad_attribute_lengths(void**) {
    for (std::uint16_t bad_len : {std::uint16_t{2}, std::uint16_t{200}}) {
        Msg m;
        make_route(m, RTM_NEWROUTE, AF_INET6, 64);
        std::size_t attr_off = m.nlh->nlmsg_len;
        mnl_attr_put_u32(m.nlh, RTA_OIF, 5);
        std::memcpy(m.buf.data() + attr_off, &bad_len, sizeof bad_len); // rta_len
        auto ev = parse_net_event(m.bytes());
        assert_false(ev.has_value());
        assert_int_equal(ev.error().code, Errc::Malformed);
    }
}

void test_short_u32_attribute_ignored(void**) {
    Msg m;
    make_route(m, RTM_NEWROUTE, AF_INET6, 64);
    std::uint16_t two = 2;
    mnl_attr_put(m.nlh, RTA_OIF, sizeof two, &two);
    auto ev = parse_net_event(m.bytes());
    assert_true(ev.has_value());
    assert_int_equal(ev->ifindex, 0);
}

void test_addresses_and_names_for_the_log(void**) {
    Msg r;
    make_route(r, RTM_NEWROUTE, AF_INET6, 64);
    std::array<std::uint8_t, 16> dst{0xfd, 0x00, 0x09, 0x99};
    mnl_attr_put(r.nlh, RTA_DST, dst.size(), dst.data());
    mnl_attr_put_u32(r.nlh, RTA_OIF, 3);
    mnl_attr_put_u32(r.nlh, RTA_PRIORITY, 1024);
    auto rev = parse_net_event(r.bytes());
    assert_true(rev.has_value());
    assert_int_equal(rev->addr_len, 16);
    assert_string_equal(enftun::netlink::describe(*rev).c_str(),
                        "route+ fd00:999::/64 dev 3 metric 1024 table 254");

    // A default route has no RTA_DST.
    Msg d;
    make_route(d, RTM_DELROUTE, AF_INET, 0);
    assert_string_equal(enftun::netlink::describe(*parse_net_event(d.bytes())).c_str(),
                        "route- 0.0.0.0/0 dev 0 metric 0 table 254");

    // IPv4 address: IFA_LOCAL wins over IFA_ADDRESS (the peer on ptp links).
    Msg a;
    put_header(a, RTM_NEWADDR);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(a.nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 24;
    ifa->ifa_index = 2;
    std::array<std::uint8_t, 4> peer{198, 18, 0, 1};
    std::array<std::uint8_t, 4> local{198, 18, 0, 2};
    mnl_attr_put(a.nlh, IFA_ADDRESS, peer.size(), peer.data());
    mnl_attr_put(a.nlh, IFA_LOCAL, local.size(), local.data());
    assert_string_equal(enftun::netlink::describe(*parse_net_event(a.bytes())).c_str(),
                        "address+ 198.18.0.2/24 dev 2");

    Msg l;
    make_link(l, RTM_NEWLINK, 2, 0, IFF_UP);
    assert_string_equal(enftun::netlink::describe(*parse_net_event(l.bytes())).c_str(),
                        "link+ eth0 dev 2 down no-carrier");
}

void test_unterminated_ifname_is_cut(void**) {
    Msg l;
    put_header(l, RTM_NEWLINK);
    mnl_nlmsg_put_extra_header(l.nlh, sizeof(ifinfomsg));
    const char name[20] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
                           'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't'};
    mnl_attr_put(l.nlh, IFLA_IFNAME, sizeof name, name); // no NUL at all
    auto ev = parse_net_event(l.bytes());
    assert_true(ev.has_value());
    assert_string_equal(ev->ifname.data(), "abcdefghijklmno");
}

void test_datagram_split(void**) {
    // Three messages back to back, as recv() may return them.
    Msg a, b, c;
    make_link(a, RTM_NEWLINK, 1, IFF_UP, IFF_UP);
    make_addr(b, RTM_DELADDR, AF_INET6, 2, 64);
    make_route(c, RTM_DELROUTE, AF_INET6, 0);
    std::vector<std::uint8_t> dgram;
    for (const Msg* m : {&a, &b, &c}) {
        Bytes bytes = m->bytes();
        dgram.insert(dgram.end(), bytes.begin(), bytes.end());
        dgram.resize((dgram.size() + 3) & ~std::size_t{3});
    }
    std::vector<NetEventKind> kinds;
    auto st = enftun::netlink::for_each_netlink_message(Bytes(dgram), [&](Bytes msg) {
        auto ev = parse_net_event(msg);
        if (ev) {
            kinds.push_back(ev->kind);
        }
    });
    assert_true(st.has_value());
    assert_int_equal(kinds.size(), 3);
    assert_int_equal(kinds[0], NetEventKind::Link);
    assert_int_equal(kinds[1], NetEventKind::Address);
    assert_int_equal(kinds[2], NetEventKind::Route);

    // A trailing fragment is reported after the whole messages were delivered.
    dgram.insert(dgram.end(), {1, 2, 3, 4, 5, 6});
    kinds.clear();
    st = enftun::netlink::for_each_netlink_message(
        Bytes(dgram), [&](Bytes) { kinds.push_back(NetEventKind::Link); });
    assert_false(st.has_value());
    assert_int_equal(st.error().code, Errc::Truncated);
    assert_int_equal(kinds.size(), 3);
}

void test_datagram_bad_length(void**) {
    Msg a;
    make_link(a, RTM_NEWLINK, 1, IFF_UP, IFF_UP);
    a.nlh->nlmsg_len = 4000; // past the datagram
    int calls = 0;
    auto st =
        enftun::netlink::for_each_netlink_message(Bytes(a.buf.data(), 64), [&](Bytes) { ++calls; });
    assert_false(st.has_value());
    assert_int_equal(st.error().code, Errc::Malformed);
    assert_int_equal(calls, 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_up),
        cmocka_unit_test(test_link_removed_and_wireless),
        cmocka_unit_test(test_address_events),
        cmocka_unit_test(test_route_attributes),
        cmocka_unit_test(test_route_without_attributes),
        cmocka_unit_test(test_other_types_unsupported),
        cmocka_unit_test(test_truncated_shapes),
        cmocka_unit_test(test_bad_attribute_lengths),
        cmocka_unit_test(test_short_u32_attribute_ignored),
        cmocka_unit_test(test_addresses_and_names_for_the_log),
        cmocka_unit_test(test_unterminated_ifname_is_cut),
        cmocka_unit_test(test_datagram_split),
        cmocka_unit_test(test_datagram_bad_length),
    };
    return cmocka_run_group_tests_name("net_event", tests, nullptr, nullptr);
}
