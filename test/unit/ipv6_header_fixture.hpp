// ipv6_header_fixture.hpp: writes the fixed IPv6 header of a packet a test
// builds by hand (super_packet_test, offload_test): version 6, no traffic
// class or flow label, hop limit 64, the given payload length, next header
// and addresses. The packet must hold at least 40 bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"

namespace test_ipv6 {

inline void put_header(std::vector<std::uint8_t>& p, std::uint16_t payload_len,
                       std::uint8_t next_header, const enftun::proto::Ipv6Addr& src,
                       const enftun::proto::Ipv6Addr& dst) {
    p[0] = 0x60;
    enftun::store_be16(p, 4, payload_len);
    p[6] = next_header;
    p[7] = 64;
    std::memcpy(p.data() + 8, src.bytes.data(), 16);
    std::memcpy(p.data() + 24, dst.bytes.data(), 16);
}

} // namespace test_ipv6
