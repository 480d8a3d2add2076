#include "enftun/proto/dhcpv6.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

namespace enftun::proto {

namespace {

struct Option {
    std::uint16_t code;
    Bytes body;
};

// Walks a run of options (RFC 8415 §21.1): the top level of a message, or
// the options inside an IA_NA.
class OptionWalker {
public:
    explicit OptionWalker(Bytes opts) : rest_(opts) {}
    bool done() const { return rest_.empty(); }

    // The next option. Errors: Truncated if its header or body runs past
    // the end. Call only while !done().
    Result<Option> next() {
        if (rest_.size() < kDhcpv6OptHeaderLen) {
            return make_error(Errc::Truncated, "DHCPv6 option header past the end");
        }
        const std::size_t len = load_be16(rest_, 2);
        if (len > rest_.size() - kDhcpv6OptHeaderLen) {
            return make_error(Errc::Truncated, "DHCPv6 option runs past the end");
        }
        const Option opt{load_be16(rest_, 0), rest_.subspan(kDhcpv6OptHeaderLen, len)};
        rest_ = rest_.subspan(kDhcpv6OptHeaderLen + len);
        return opt;
    }

private:
    Bytes rest_;
};

Result<Dhcpv6IaNa> parse_ia_na(Bytes body) {
    if (body.size() < kDhcpv6IaNaFixedLen) {
        return make_error(Errc::Malformed, "DHCPv6 IA_NA shorter than 12 bytes");
    }
    Dhcpv6IaNa ia{load_be32(body, 0), load_be32(body, 4), load_be32(body, 8), std::nullopt};
    OptionWalker walk(body.subspan(kDhcpv6IaNaFixedLen));
    while (!walk.done()) {
        auto opt = walk.next();
        if (!opt) {
            return opt.error();
        }
        if (opt->code != kDhcpv6OptIaAddr) {
            continue;
        }
        if (opt->body.size() < kDhcpv6IaAddrFixedLen) {
            return make_error(Errc::Malformed, "DHCPv6 IA Address shorter than 24 bytes");
        }
        if (!ia.addr) {
            Ipv6Addr a;
            std::copy_n(opt->body.begin(), a.bytes.size(), a.bytes.begin());
            ia.addr = a;
        }
    }
    return ia;
}

Status set_duid(std::optional<Bytes>& slot, Bytes body) {
    if (slot) {
        return make_error(Errc::Malformed, "DHCPv6 Client or Server ID appears twice");
    }
    if (body.size() < kDuidMinLen || body.size() > kDuidMaxLen) {
        return make_error(Errc::Malformed, "DHCPv6 Client or Server ID is not a DUID");
    }
    slot = body;
    return {};
}

void put_option_header(packet::PacketWriter& w, std::uint16_t code, std::size_t len) {
    w.put_be16(code);
    w.put_be16(static_cast<std::uint16_t>(len));
}

// The DUIDs come from parse_dhcpv6 or the server's DUID store, both of
// which hold them to kDuidMaxLen.
void put_duid_option(packet::PacketWriter& w, std::uint16_t code, Bytes duid) {
    assert(duid.size() <= kDuidMaxLen);
    put_option_header(w, code, duid.size());
    w.put_bytes(duid);
}

// Calls f(body) for each option `code` in `opts` (options parse_dhcpv6
// accepted) at least `min_len` bytes long.
template <typename F>
void for_each_option(Bytes opts, std::uint16_t code, std::size_t min_len, F f) {
    OptionWalker walk(opts);
    while (!walk.done()) {
        auto opt = walk.next();
        if (!opt) {
            return;
        }
        if (opt->code == code && opt->body.size() >= min_len) {
            f(opt->body);
        }
    }
}

// Calls f(body) for each IA_NA in `opts` (parse_dhcpv6 refused any shorter
// than 12 bytes).
template <typename F>
void for_each_ia_na(Bytes opts, F f) {
    for_each_option(opts, kDhcpv6OptIaNa, kDhcpv6IaNaFixedLen, f);
}

// The addresses of the client's first IA_NA that are not the lease's, at
// most kDhcpv6MaxReturned of them.
struct OtherAddrs {
    std::array<Ipv6Addr, kDhcpv6MaxReturned> addrs;
    std::size_t count = 0;
};

// The body of the first IA_NA in `opts`, the one a lease answers.
std::optional<Bytes> first_ia_na(Bytes opts) {
    std::optional<Bytes> first;
    for_each_ia_na(opts, [&first](Bytes ia) {
        if (!first) {
            first = ia;
        }
    });
    return first;
}

OtherAddrs other_addrs(Bytes client_options, const Ipv6Addr& ours) {
    OtherAddrs out;
    const auto ia = first_ia_na(client_options);
    if (!ia) {
        return out;
    }
    OptionWalker walk(ia->subspan(kDhcpv6IaNaFixedLen));
    while (!walk.done() && out.count < out.addrs.size()) {
        auto opt = walk.next();
        if (!opt) {
            break;
        }
        if (opt->code != kDhcpv6OptIaAddr || opt->body.size() < kDhcpv6IaAddrFixedLen) {
            continue;
        }
        Ipv6Addr a;
        std::copy_n(opt->body.begin(), a.bytes.size(), a.bytes.begin());
        if (a != ours) {
            out.addrs[out.count++] = a;
        }
    }
    return out;
}

void put_ia_addr(packet::PacketWriter& w, const Ipv6Addr& a, std::uint32_t preferred,
                 std::uint32_t valid) {
    put_option_header(w, kDhcpv6OptIaAddr, kDhcpv6IaAddrFixedLen);
    w.put_bytes(a.bytes);
    w.put_be32(preferred);
    w.put_be32(valid);
}

// RFC 8415 §21.4 IA_NA holding the lease's §21.6 IA Address (with no
// options), then `others` with lifetimes 0.
void put_lease(packet::PacketWriter& w, const Dhcpv6Lease& l, const OtherAddrs& others) {
    constexpr std::size_t kIaAddrLen = kDhcpv6OptHeaderLen + kDhcpv6IaAddrFixedLen;
    put_option_header(w, kDhcpv6OptIaNa, kDhcpv6IaNaFixedLen + (1 + others.count) * kIaAddrLen);
    w.put_be32(l.iaid);
    w.put_be32(l.t1);
    w.put_be32(l.t2);
    put_ia_addr(w, l.addr, l.preferred_lifetime, l.valid_lifetime);
    for (std::size_t i = 0; i < others.count; ++i) {
        put_ia_addr(w, others.addrs[i], 0, 0);
    }
}

void put_status(packet::PacketWriter& w, Dhcpv6Status s) {
    put_option_header(w, kDhcpv6OptStatusCode, 2); // code, empty message
    w.put_be16(static_cast<std::uint16_t>(s));
}

// An IA_NA or IA_PD (the same 12 fixed bytes: IAID, T1, T2) with T1 and T2
// 0 and only a Status Code inside.
void put_empty_ia(packet::PacketWriter& w, std::uint16_t code, std::uint32_t iaid,
                  Dhcpv6Status status) {
    put_option_header(w, code, kDhcpv6IaNaFixedLen + kDhcpv6OptHeaderLen + 2);
    w.put_be32(iaid);
    w.put_be32(0);
    w.put_be32(0);
    put_status(w, status);
}

// Every IA_NA of the client's after the first (and not with the lease's
// IAID), at most kDhcpv6MaxReturned: T1 and T2 0, no address, Status Code
// NoAddrsAvail inside (RFC 8415 §21.4, §21.13).
void put_refused_ias(packet::PacketWriter& w, Bytes client_options, std::uint32_t lease_iaid) {
    bool first = true;
    std::size_t n = 0;
    for_each_ia_na(client_options, [&](Bytes ia) {
        const std::uint32_t iaid = load_be32(ia, 0);
        if (std::exchange(first, false) || iaid == lease_iaid || n == kDhcpv6MaxReturned) {
            return;
        }
        ++n;
        put_empty_ia(w, kDhcpv6OptIaNa, iaid, Dhcpv6Status::NoAddrsAvail);
    });
}

// Every IA_PD of the client's (an IA_PD shorter than its IAID, T1 and T2
// is left out), at most kDhcpv6MaxReturned: T1 and T2 0, no prefix, Status
// Code `status` inside (RFC 8415 §21.21, §21.13).
void put_unserved_pds(packet::PacketWriter& w, Bytes client_options, Dhcpv6Status status) {
    std::size_t n = 0;
    for_each_option(client_options, kDhcpv6OptIaPd, kDhcpv6IaPdFixedLen, [&](Bytes ia) {
        if (n == kDhcpv6MaxReturned) {
            return;
        }
        ++n;
        put_empty_ia(w, kDhcpv6OptIaPd, load_be32(ia, 0), status);
    });
}

} // namespace

Status Dhcpv6View::add_option(std::uint16_t code, Bytes body) {
    switch (code) {
    case kDhcpv6OptClientId:
        return set_duid(client_id_, body);
    case kDhcpv6OptServerId:
        return set_duid(server_id_, body);
    case kDhcpv6OptIaNa: {
        has_ia_ = true;
        auto ia = parse_ia_na(body);
        if (!ia) {
            return ia.error();
        }
        if (!ia_na_) {
            ia_na_ = *ia;
        }
        return {};
    }
    case kDhcpv6OptIaPd:
        has_ia_pd_ = true;
        has_ia_ = true;
        return {};
    case kDhcpv6OptIaTa:
        has_ia_ = true;
        return {};
    case kDhcpv6OptRapidCommit:
        if (!body.empty()) {
            return make_error(Errc::Malformed, "DHCPv6 Rapid Commit with data");
        }
        rapid_commit_ = true;
        return {};
    case kDhcpv6OptStatusCode:
        if (body.size() < 2) {
            return make_error(Errc::Malformed, "DHCPv6 Status Code shorter than 2 bytes");
        }
        if (!status_) {
            status_ = static_cast<Dhcpv6Status>(load_be16(body, 0));
        }
        return {};
    case kDhcpv6OptPreference:
        if (body.size() != 1) {
            return make_error(Errc::Malformed, "DHCPv6 Preference is not 1 byte");
        }
        return {};
    default:
        return {}; // RFC 8415 §16: unknown options are ignored
    }
}

Result<Dhcpv6View> parse_dhcpv6(Bytes msg) {
    if (msg.size() < kDhcpv6HeaderLen) {
        return make_error(Errc::Truncated, "DHCPv6 message shorter than its header");
    }
    Dhcpv6View view(msg);
    OptionWalker walk(msg.subspan(kDhcpv6HeaderLen));
    while (!walk.done()) {
        auto opt = walk.next();
        if (!opt) {
            return opt.error();
        }
        if (auto st = view.add_option(opt->code, opt->body); !st) {
            return st.error();
        }
    }
    return view;
}

Status check_client_message(const Dhcpv6View& msg) {
    bool server_id_required = false;
    bool server_id_forbidden = false;
    switch (msg.msg_type()) {
    case kDhcpv6Solicit: // §16.2
    case kDhcpv6Confirm: // §16.5
    case kDhcpv6Rebind:  // §16.7
        server_id_forbidden = true;
        break;
    case kDhcpv6Request: // §16.4
    case kDhcpv6Renew:   // §16.6
    case kDhcpv6Decline: // §16.8
    case kDhcpv6Release: // §16.9
        server_id_required = true;
        break;
    case kDhcpv6InformationRequest: // §16.12
        if (msg.has_ia()) {
            return make_error(Errc::Malformed, "DHCPv6 Information-request with an IA");
        }
        return {};
    default:
        return make_error(Errc::Unsupported, "not a DHCPv6 client-to-server message");
    }
    if (!msg.client_id()) {
        return make_error(Errc::Malformed, "DHCPv6 message without a Client ID");
    }
    if (server_id_forbidden && msg.server_id()) {
        return make_error(Errc::Malformed, "DHCPv6 message must not carry a Server ID");
    }
    if (server_id_required && !msg.server_id()) {
        return make_error(Errc::Malformed, "DHCPv6 message without a Server ID");
    }
    return {};
}

std::optional<bool> all_ia_addrs_are(const Dhcpv6View& msg, const Ipv6Addr& addr) {
    std::optional<bool> all;
    OptionWalker walk(msg.options());
    while (!walk.done()) {
        auto opt = walk.next();
        if (!opt) {
            break; // cannot happen: parse_dhcpv6 walked these options
        }
        std::size_t fixed = 0;
        if (opt->code == kDhcpv6OptIaNa) {
            fixed = kDhcpv6IaNaFixedLen; // parse_dhcpv6 checked the length
        } else if (opt->code == kDhcpv6OptIaTa) {
            fixed = kDhcpv6IaTaFixedLen;
        } else {
            continue;
        }
        if (opt->body.size() < fixed) {
            return false; // a broken IA_TA: nothing in it can be confirmed
        }
        OptionWalker inner(opt->body.subspan(fixed));
        while (!inner.done()) {
            auto sub = inner.next();
            if (!sub) {
                return false;
            }
            if (sub->code != kDhcpv6OptIaAddr) {
                continue;
            }
            if (sub->body.size() < kDhcpv6IaAddrFixedLen) {
                return false;
            }
            Ipv6Addr a;
            std::copy_n(sub->body.begin(), a.bytes.size(), a.bytes.begin());
            all = all.value_or(true) && a == addr;
        }
    }
    return all;
}

void build_dhcpv6_server_message(const Dhcpv6ServerMessage& m, packet::PacketWriter& w) {
    w.put_be32((std::uint32_t{m.msg_type} << 24) | (m.transaction_id & 0xffffffu));
    put_duid_option(w, kDhcpv6OptServerId, m.server_id);
    if (!m.client_id.empty()) {
        put_duid_option(w, kDhcpv6OptClientId, m.client_id);
    }
    if (m.lease) {
        const OtherAddrs others =
            m.withdraw_other_addrs ? other_addrs(m.client_options, m.lease->addr) : OtherAddrs{};
        put_lease(w, *m.lease, others);
        put_refused_ias(w, m.client_options, m.lease->iaid);
    }
    if (m.ia_pd_status) {
        put_unserved_pds(w, m.client_options, *m.ia_pd_status);
    }
    if (m.preference) {
        put_option_header(w, kDhcpv6OptPreference, 1);
        w.put_u8(*m.preference);
    }
    if (m.rapid_commit) {
        put_option_header(w, kDhcpv6OptRapidCommit, 0);
    }
    if (m.status) {
        put_status(w, *m.status);
    }
}

} // namespace enftun::proto
