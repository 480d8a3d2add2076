// KeyUsage: how much a TLS session's traffic keys have been used, and when
// they must be renewed.
//
// An AEAD key may protect only so many records: RFC 8446 §5.5 puts AES-GCM's
// limit at 2^24.5 full-size records per key. A tunnel at 5 Gbit/s sends that
// many in about ten minutes, and a backend's tunnel lives for months.
// OpenSSL 3.0 renews no key by itself; TLS 1.3 has KeyUpdate for it
// (SSL_key_update), TLS 1.2 nothing we allow (renegotiation is off).
//
// Each end renews its own sending key: a write of n bytes is ceil(n / 16384)
// records (OpenSSL cuts writes at the maximum fragment, never joins two), and
// at the threshold a key update goes out without asking the peer for one.
// The peer's sending key is the peer's to renew; a read that returned data
// is at most one of its records (OpenSSL returns at most one record's data
// per read), and a peer that sent four thresholds' worth without a
// KeyUpdate (the original enftun renews nothing) is asked for one, which
// OpenSSL sends ahead of its next write. Each end renewing its own key
// needs no answers: two ends asking each other would renew every key twice.
// A TLS 1.2 session ends instead, at twice the threshold sent or four times
// it received: the reconnection makes new keys.
#pragma once

#include <cstddef>
#include <cstdint>

namespace enftun::tls {

// 2^22 records: even the peer that must be asked (at 2^24) is renewed
// before 2^24.5.
inline constexpr std::uint64_t kKeyUpdateRecords = std::uint64_t{1} << 22;

class KeyUsage {
public:
    // threshold: records before our sending key is renewed (0 counts as 1).
    explicit KeyUsage(std::uint64_t threshold = kKeyUpdateRecords)
        : threshold_(threshold == 0 ? 1 : threshold) {}

    // A write of `bytes` bytes went out.
    void wrote(std::size_t bytes);
    // A read returned data: at most one of the peer's records.
    void read_one() { ++received_; }
    // The peer sent a KeyUpdate: its sending key is new.
    void peer_renewed() {
        received_ = 0;
        ++peer_renewals_;
    }
    // A KeyUpdate of ours went out: made by renewed(), or OpenSSL's answer
    // to the peer's request.
    void sent_one() { ++sent_updates_; }

    // Whether our sending key is due for renewal.
    bool update_due() const { return sent_ >= threshold_; }
    // Whether the peer's sending key is overdue: ask for an update.
    bool peer_overdue() const { return received_ >= 4 * threshold_; }
    // Whether a session that cannot renew its keys (TLS 1.2) must end.
    bool session_spent() const { return sent_ >= 2 * threshold_ || peer_overdue(); }

    // We sent a KeyUpdate (asking the peer for one too, or not).
    void renewed(bool asked_peer);

    std::uint64_t sent() const { return sent_; }
    std::uint64_t received() const { return received_; }
    std::uint64_t renewals() const { return renewals_; }
    std::uint64_t requests() const { return requests_; }
    std::uint64_t peer_renewals() const { return peer_renewals_; }
    std::uint64_t sent_updates() const { return sent_updates_; }

private:
    std::uint64_t threshold_;
    std::uint64_t sent_ = 0;     // records under our current sending key
    std::uint64_t received_ = 0; // reads since the peer's last KeyUpdate
    std::uint64_t renewals_ = 0;
    std::uint64_t requests_ = 0;
    std::uint64_t peer_renewals_ = 0;
    std::uint64_t sent_updates_ = 0;
};

} // namespace enftun::tls
