// Unit tests for netlink/route_batch: host-route requests are built into one
// datagram and read back with libmnl, field by field; a full batch refuses
// more; tables above 255 go into RTA_TABLE; parse_route reads a route and
// refuses what is not one.
#include "enftun/netlink/route_batch.hpp"

#include "test.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

using namespace enftun::netlink;
using enftun::proto::Ipv6Addr;

namespace {

// One request as read back with libmnl's attribute parser.
struct Parsed {
    std::uint16_t type = 0;
    std::uint16_t flags = 0;
    std::uint32_t seq = 0;
    rtmsg rtm{};
    std::vector<std::uint8_t> dst;
    std::uint32_t table = 0;
    std::uint32_t oif = 0;
    int attrs = 0;
};

int on_attr(const nlattr* attr, void* data) {
    auto* p = static_cast<Parsed*>(data);
    ++p->attrs;
    switch (mnl_attr_get_type(attr)) {
    case RTA_DST: {
        auto* b = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr));
        p->dst.assign(b, b + mnl_attr_get_payload_len(attr));
        break;
    }
    case RTA_TABLE:
        p->table = mnl_attr_get_u32(attr);
        break;
    case RTA_OIF:
        p->oif = mnl_attr_get_u32(attr);
        break;
    default:
        break;
    }
    return MNL_CB_OK;
}

std::vector<Parsed> read_back(std::span<const std::uint8_t> bytes) {
    std::vector<Parsed> out;
    // A copy: libmnl wants a mutable-looking, aligned buffer.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    int len = static_cast<int>(copy.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(copy.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
        Parsed p;
        p.type = nlh->nlmsg_type;
        p.flags = nlh->nlmsg_flags;
        p.seq = nlh->nlmsg_seq;
        std::memcpy(&p.rtm, mnl_nlmsg_get_payload(nlh), sizeof p.rtm);
        assert_int_equal(mnl_attr_parse(nlh, sizeof(rtmsg), on_attr, &p), MNL_CB_OK);
        out.push_back(p);
    }
    assert_int_equal(len, 0); // nothing left over: every byte was a message
    return out;
}

void test_add_and_delete_in_one_datagram(void**) {
    const RouteOwner owner{7, 250, RT_TABLE_MAIN};
    const Ipv6Addr a = *Ipv6Addr::parse("fd00:e::a");
    const Ipv6Addr b = *Ipv6Addr::parse("fd00:e::b");
    RouteBatch batch(4096);
    assert_true(batch.empty());
    assert_true(batch.add_route(owner, a, 10));
    assert_true(batch.delete_route(owner, b, 128, 11));
    assert_int_equal(batch.count(), 2);

    auto msgs = read_back(batch.bytes());
    assert_int_equal(msgs.size(), 2);
    const Parsed& add = msgs[0];
    assert_int_equal(add.type, RTM_NEWROUTE);
    // No NLM_F_ACK: only failures are answered.
    assert_int_equal(add.flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
    assert_int_equal(add.seq, 10);
    assert_int_equal(add.rtm.rtm_family, AF_INET6);
    assert_int_equal(add.rtm.rtm_dst_len, 128);
    assert_int_equal(add.rtm.rtm_protocol, 250);
    assert_int_equal(add.rtm.rtm_table, RT_TABLE_MAIN);
    assert_int_equal(add.rtm.rtm_type, RTN_UNICAST);
    assert_int_equal(add.table, RT_TABLE_MAIN);
    assert_int_equal(add.oif, 7);
    assert_int_equal(add.dst.size(), 16);
    assert_memory_equal(add.dst.data(), a.bytes.data(), 16);

    const Parsed& del = msgs[1];
    assert_int_equal(del.type, RTM_DELROUTE);
    assert_int_equal(del.flags, NLM_F_REQUEST);
    assert_int_equal(del.seq, 11);
    assert_int_equal(del.rtm.rtm_protocol, 250);
    assert_memory_equal(del.dst.data(), b.bytes.data(), 16);

    batch.clear();
    assert_true(batch.empty());
    assert_int_equal(batch.bytes().size(), 0);
}

void test_full_batch_refuses_and_keeps_whole_messages(void**) {
    const RouteOwner owner{3, 250, RT_TABLE_MAIN};
    RouteBatch batch(3 * RouteBatch::kMaxMessage);
    Ipv6Addr addr = *Ipv6Addr::parse("fd00:1000::");
    std::size_t n = 0;
    for (; n < 100; ++n) {
        addr.bytes[15] = static_cast<std::uint8_t>(n);
        if (!batch.add_route(owner, addr, static_cast<std::uint32_t>(n))) {
            break;
        }
    }
    // Room for kMaxMessage is kept for each: at least capacity / kMaxMessage
    // fit, never more than the capacity.
    assert_in_range(n, 3, 99);
    assert_int_equal(batch.count(), n);
    assert_true(batch.bytes().size() <= 3 * RouteBatch::kMaxMessage);
    auto msgs = read_back(batch.bytes());
    assert_int_equal(msgs.size(), n);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        assert_int_equal(msgs[i].seq, i);
        assert_int_equal(msgs[i].dst[15], i);
    }
    // A batch of the size the router uses holds its count.
    RouteBatch big(256 * RouteBatch::kMaxMessage);
    for (n = 0; n < 256; ++n) {
        assert_true(big.add_route(owner, addr, 1));
    }
    while (big.add_route(owner, addr, 1)) {
    }
    assert_true(big.bytes().size() <= 256 * RouteBatch::kMaxMessage);
    assert_int_equal(read_back(big.bytes()).size(), big.count());
}

void test_large_table_in_attribute(void**) {
    const RouteOwner owner{0, 251, 1000};
    RouteBatch batch(1024);
    assert_true(batch.delete_route(owner, *Ipv6Addr::parse("fd00:e::"), 64, 1));
    auto msgs = read_back(batch.bytes());
    assert_int_equal(msgs.size(), 1);
    assert_int_equal(msgs[0].rtm.rtm_table, RT_TABLE_UNSPEC);
    assert_int_equal(msgs[0].table, 1000);
    assert_int_equal(msgs[0].rtm.rtm_dst_len, 64);
    assert_int_equal(msgs[0].oif, 0); // ifindex 0: any interface
    assert_int_equal(msgs[0].attrs, 2);
}

void test_parse_route_reads_back(void**) {
    const RouteOwner owner{9, 250, 1000};
    const Ipv6Addr a = *Ipv6Addr::parse("fd00:e::1234");
    RouteBatch batch(1024);
    assert_true(batch.add_route(owner, a, 5));
    std::vector<std::uint8_t> copy(batch.bytes().begin(), batch.bytes().end());
    auto* nlh = reinterpret_cast<nlmsghdr*>(copy.data());
    auto info = parse_route(nlh);
    assert_true(info.has_value());
    assert_true(info->dst == a);
    assert_int_equal(info->dst_len, 128);
    assert_int_equal(info->protocol, 250);
    assert_int_equal(info->table, 1000);
    assert_int_equal(info->oif, 9);

    // A delete is no route; nor is a message cut short, nor an IPv4 route
    // with an IPv6-sized destination.
    batch.clear();
    assert_true(batch.delete_route(owner, a, 128, 6));
    copy.assign(batch.bytes().begin(), batch.bytes().end());
    nlh = reinterpret_cast<nlmsghdr*>(copy.data());
    assert_false(parse_route(nlh).has_value());
    nlh->nlmsg_type = RTM_NEWROUTE;
    assert_true(parse_route(nlh).has_value());
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 32;
    assert_false(parse_route(nlh).has_value());
    rtm->rtm_family = AF_INET6;
    rtm->rtm_dst_len = 129;
    assert_false(parse_route(nlh).has_value());
    rtm->rtm_dst_len = 128;
    nlh->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg)) - 1;
    assert_false(parse_route(nlh).has_value());
}

// Inner IPv4: a session's /32 goes as AF_INET with a 4-byte RTA_DST, and
// reads back in the mapped form it was given in.
void test_ipv4_host_route(void**) {
    const RouteOwner owner{9, 250, RT_TABLE_MAIN};
    const Ipv6Addr mapped = ipv4_route_dst({198, 18, 1, 5});
    assert_true(mapped == *Ipv6Addr::parse("::ffff:198.18.1.5"));
    assert_true(is_ipv4_route(mapped, 128));
    assert_false(is_ipv4_route(*Ipv6Addr::parse("fd00:e::5"), 128));
    RouteBatch batch(1024);
    assert_true(batch.add_route(owner, mapped, 5));
    assert_true(batch.delete_route(owner, mapped, 128, 6));
    auto msgs = read_back(batch.bytes());
    assert_int_equal(msgs.size(), 2);
    for (const Parsed& m : msgs) {
        assert_int_equal(m.rtm.rtm_family, AF_INET);
        assert_int_equal(m.rtm.rtm_dst_len, 32);
        assert_int_equal(m.dst.size(), 4);
        assert_memory_equal(m.dst.data(), "\xc6\x12\x01\x05", 4);
        assert_int_equal(m.oif, 9);
    }
    batch.clear();
    assert_true(batch.add_route(owner, mapped, 7));
    std::vector<std::uint8_t> copy(batch.bytes().begin(), batch.bytes().end());
    auto info = parse_route(reinterpret_cast<nlmsghdr*>(copy.data()));
    assert_true(info.has_value());
    assert_true(info->dst == mapped);
    assert_int_equal(info->dst_len, 128);
    assert_int_equal(info->protocol, 250);
}

void test_dump_request(void**) {
    alignas(nlmsghdr) std::uint8_t buf[RouteBatch::kMaxMessage];
    std::size_t len = build_route_dump(buf, 42);
    assert_int_equal(len, NLMSG_LENGTH(sizeof(rtmsg)));
    nlmsghdr hdr;
    std::memcpy(&hdr, buf, sizeof hdr);
    assert_int_equal(hdr.nlmsg_type, RTM_GETROUTE);
    assert_int_equal(hdr.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert_int_equal(hdr.nlmsg_seq, 42);
    rtmsg rtm;
    std::memcpy(&rtm, buf + NLMSG_HDRLEN, sizeof rtm);
    assert_int_equal(rtm.rtm_family, AF_UNSPEC); // both families
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_delete_in_one_datagram),
        cmocka_unit_test(test_full_batch_refuses_and_keeps_whole_messages),
        cmocka_unit_test(test_large_table_in_attribute),
        cmocka_unit_test(test_parse_route_reads_back),
        cmocka_unit_test(test_ipv4_host_route),
        cmocka_unit_test(test_dump_request),
    };
    return cmocka_run_group_tests_name("route_batch", tests, nullptr, nullptr);
}
