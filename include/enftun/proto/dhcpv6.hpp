// DHCPv6 (RFC 8415) messages as a one-address server sees them: a parser
// that walks and checks every option, the server-side validity rules of
// RFC 8415 §16, and a builder for Advertise and Reply messages. The UDP and
// IPv6 headers around a message belong to proto/udp. Pure: no syscalls, no
// allocation.
//
// Lifetime: Dhcpv6View stores spans into the message it was parsed from; the
// bytes must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 8415 §7.2: ports; §7.1: the link-scoped group clients send to.
inline constexpr std::uint16_t kDhcpv6ClientPort = 546;
inline constexpr std::uint16_t kDhcpv6ServerPort = 547;
inline constexpr Ipv6Addr kAllDhcpRelayAgentsAndServers{
    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x02}};

// RFC 8415 §7.3: message types.
inline constexpr std::uint8_t kDhcpv6Solicit = 1;
inline constexpr std::uint8_t kDhcpv6Advertise = 2;
inline constexpr std::uint8_t kDhcpv6Request = 3;
inline constexpr std::uint8_t kDhcpv6Confirm = 4;
inline constexpr std::uint8_t kDhcpv6Renew = 5;
inline constexpr std::uint8_t kDhcpv6Rebind = 6;
inline constexpr std::uint8_t kDhcpv6Reply = 7;
inline constexpr std::uint8_t kDhcpv6Release = 8;
inline constexpr std::uint8_t kDhcpv6Decline = 9;
inline constexpr std::uint8_t kDhcpv6InformationRequest = 11;

// RFC 8415 §8: msg-type (1 byte) and transaction-id (3 bytes), then options.
inline constexpr std::size_t kDhcpv6HeaderLen = 4;
// RFC 8415 §21.1: option-code (2 bytes), option-len (2 bytes), data.
inline constexpr std::size_t kDhcpv6OptHeaderLen = 4;

// RFC 8415 §21: option codes.
inline constexpr std::uint16_t kDhcpv6OptClientId = 1;
inline constexpr std::uint16_t kDhcpv6OptServerId = 2;
inline constexpr std::uint16_t kDhcpv6OptIaNa = 3;
inline constexpr std::uint16_t kDhcpv6OptIaTa = 4;
inline constexpr std::uint16_t kDhcpv6OptIaAddr = 5;
inline constexpr std::uint16_t kDhcpv6OptPreference = 7;
inline constexpr std::uint16_t kDhcpv6OptStatusCode = 13;
inline constexpr std::uint16_t kDhcpv6OptRapidCommit = 14;
inline constexpr std::uint16_t kDhcpv6OptIaPd = 25;

// RFC 8415 §21.4: IAID, T1, T2; §21.5: IAID; §21.6: address, preferred and
// valid lifetime; §21.21: IA_PD, IAID, T1, T2.
inline constexpr std::size_t kDhcpv6IaNaFixedLen = 12;
inline constexpr std::size_t kDhcpv6IaPdFixedLen = 12;
inline constexpr std::size_t kDhcpv6IaTaFixedLen = 4;
inline constexpr std::size_t kDhcpv6IaAddrFixedLen = 24;
// RFC 8415 §11.1: a DUID is a 2-byte type and at most 128 bytes more.
inline constexpr std::size_t kDuidMinLen = 3;
inline constexpr std::size_t kDuidMaxLen = 130;

// RFC 8415 §21.13: status codes.
enum class Dhcpv6Status : std::uint16_t {
    Success = 0,
    UnspecFail = 1,
    NoAddrsAvail = 2,
    NoBinding = 3,
    NotOnLink = 4,
    UseMulticast = 5,
    NoPrefixAvail = 6,
};

// The first IA_NA of a message (RFC 8415 §21.4) and its first IA Address.
struct Dhcpv6IaNa {
    std::uint32_t iaid = 0;
    std::uint32_t t1 = 0;
    std::uint32_t t2 = 0;
    std::optional<Ipv6Addr> addr;
};

class Dhcpv6View {
public:
    std::uint8_t msg_type() const { return load_u8(msg_, 0); }
    std::uint32_t transaction_id() const { return load_be32(msg_, 0) & 0xffffffu; }
    // Every option after the header, as the message carries them.
    Bytes options() const { return msg_.subspan(kDhcpv6HeaderLen); }
    // The DUIDs (option bodies), if present.
    const std::optional<Bytes>& client_id() const { return client_id_; }
    const std::optional<Bytes>& server_id() const { return server_id_; }
    const std::optional<Dhcpv6IaNa>& ia_na() const { return ia_na_; }
    // Any IA_NA, IA_TA or IA_PD present.
    bool has_ia() const { return has_ia_; }
    // Any IA_PD (prefix delegation, RFC 8415 §21.21) present.
    bool has_ia_pd() const { return has_ia_pd_; }
    bool rapid_commit() const { return rapid_commit_; }
    // The top-level Status Code, if present (an Advertise or Reply has one).
    const std::optional<Dhcpv6Status>& status() const { return status_; }

private:
    friend Result<Dhcpv6View> parse_dhcpv6(Bytes msg);
    explicit Dhcpv6View(Bytes msg) : msg_(msg) {}
    // Records one top-level option; the errors are parse_dhcpv6's.
    Status add_option(std::uint16_t code, Bytes body);

    Bytes msg_;
    std::optional<Bytes> client_id_;
    std::optional<Bytes> server_id_;
    std::optional<Dhcpv6IaNa> ia_na_;
    std::optional<Dhcpv6Status> status_;
    bool has_ia_ = false;
    bool has_ia_pd_ = false;
    bool rapid_commit_ = false;
};

// Parses one DHCPv6 message (a UDP payload) of any type, walking every
// option and the options inside the first IA_NA. Errors:
//   Truncated - shorter than 4 bytes, or an option header or body runs
//               past the end of the message or of its IA_NA;
//   Malformed - a Client or Server ID that is not a DUID (length 3..130) or
//               appears twice, an IA_NA shorter than 12 bytes, an IA
//               Address shorter than 24, a Rapid Commit with data, a Status
//               Code shorter than 2 bytes or a Preference not 1 byte long.
[[nodiscard]] Result<Dhcpv6View> parse_dhcpv6(Bytes msg);

// The RFC 8415 §16 rules a server applies before answering (§16.2 to
// §16.9 and §16.12; the Server ID's value is the caller's to compare).
// Errors:
//   Unsupported - not a message a client sends to a server (Advertise,
//                 Reply, Reconfigure, relay messages, unknown types);
//   Malformed   - Client ID missing (all but Information-request), Server
//                 ID present in a Solicit, Confirm or Rebind, Server ID
//                 missing in a Request, Renew, Decline or Release, or an IA
//                 in an Information-request.
[[nodiscard]] Status check_client_message(const Dhcpv6View& msg);

// For a Confirm (RFC 8415 §18.3.3): whether every IA Address in every
// IA_NA and IA_TA of `msg` is `addr`; nullopt when they hold no address at
// all. An IA_TA too short for its IAID, or whose options do not fit, counts
// as holding an address that is not `addr` (it cannot be confirmed).
std::optional<bool> all_ia_addrs_are(const Dhcpv6View& msg, const Ipv6Addr& addr);

// One address lease: an IA_NA holding one IA Address.
struct Dhcpv6Lease {
    std::uint32_t iaid = 0;
    std::uint32_t t1 = 0;
    std::uint32_t t2 = 0;
    Ipv6Addr addr;
    std::uint32_t preferred_lifetime = 0;
    std::uint32_t valid_lifetime = 0;
};

// How many of the client's other addresses (withdraw_other_addrs), other
// IA_NAs and IA_PDs (client_options) an answer returns, at most; the rest
// are left out. Eight of each keep any answer within 907 bytes, so it
// always fits the 1280-byte packet the responder builds it in.
inline constexpr std::size_t kDhcpv6MaxReturned = 8;

// An Advertise or Reply. Options are written in this order: Server ID,
// Client ID (when not empty), IA_NA (the lease), the client's other IA_NAs,
// the client's IA_PDs, Preference, Rapid Commit, Status Code.
struct Dhcpv6ServerMessage {
    std::uint8_t msg_type = kDhcpv6Reply;
    std::uint32_t transaction_id = 0; // low 24 bits
    Bytes server_id;
    Bytes client_id; // empty: no Client ID (an Information-request without one)
    std::optional<Dhcpv6Lease> lease;
    std::optional<std::uint8_t> preference;
    bool rapid_commit = false;
    std::optional<Dhcpv6Status> status;
    // With a lease: the options of the client's message (Dhcpv6View::
    // options()), whose first IA_NA the lease answers. Each further IA_NA
    // comes back with no address and a Status Code NoAddrsAvail inside it
    // (RFC 8415 §18.3.1, §18.3.2, §18.3.4, §18.3.5: we have one address).
    Bytes client_options;
    // Renew, Rebind (RFC 8415 §18.3.4, §18.3.5): each address in the
    // client's first IA_NA other than lease->addr is returned in the
    // lease's IA_NA with lifetimes 0, so the client stops using it.
    bool withdraw_other_addrs = false;
    // With a value: each IA_PD of client_options (at most
    // kDhcpv6MaxReturned, each at least kDhcpv6IaPdFixedLen long) comes back
    // with T1 and T2 0, no prefix, and a Status Code of this value inside:
    // NoPrefixAvail to a Solicit or Request (RFC 8415 §18.3.1, §18.3.2),
    // NoBinding to a Renew or Rebind (§18.3.4, §18.3.5), from a server that
    // delegates no prefix. With or without a lease.
    std::optional<Dhcpv6Status> ia_pd_status;
};

// Appends the message to `w`; running out of room latches NoSpace in `w`.
void build_dhcpv6_server_message(const Dhcpv6ServerMessage& m, packet::PacketWriter& w);

} // namespace enftun::proto
