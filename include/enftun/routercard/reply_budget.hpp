// ReplyBudget: how many answers the router card may write to the host a
// second, a token bucket shared by the Neighbor Advertisements and the
// DHCPv6 answers. Pure state: the caller passes the loop's milliseconds.
//
// Why: the host behind the TUN is authenticated by nothing. Each NS or
// DHCPv6 message it sends would otherwise cost a reply built, checksummed
// and written to the TUN (a syscall) on the loop that carries the tunnel,
// as fast as the host can send them. A host that follows the RFCs sends a
// handful a minute (DHCPv6 retransmits back off from 1 s, RFC 8415 §15;
// NUD probes are 1 s apart, RFC 4861 §10); the bucket is far above that.
// RAs are not charged: RaSchedule already spaces them (at least 3 s apart
// however many RS arrive).
//
// The bucket holds at most kBurst tokens, refills kPerSecond a second and
// starts full. Lifetime: a value owned by the RouterCard.
#pragma once

#include <cstdint>

namespace enftun::tunnel {

class ReplyBudget {
public:
    static constexpr std::uint32_t kPerSecond = 10;
    static constexpr std::uint32_t kBurst = 20;

    // True, taking a token, if an answer may go out at now_ms.
    bool take(std::uint64_t now_ms);

private:
    std::uint64_t last_ms_ = 0;
    bool started_ = false;
    std::uint32_t milli_tokens_ = kBurst * 1000; // a token is 1000
};

} // namespace enftun::tunnel
