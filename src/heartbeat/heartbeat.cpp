#include "enftun/heartbeat/heartbeat.hpp"

#include "enftun/log/log.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"

#include <random>

namespace enftun::heartbeat {

namespace {
// Identifies our probes among other echo traffic; random per process so
// replies meant for a previous run are not mistaken for ours.
std::uint16_t random_id() {
    std::random_device rd;
    return static_cast<std::uint16_t>(rd());
}
} // namespace

Heartbeat::Heartbeat(loop::Loop& loop, std::uint64_t period_ms, std::uint64_t timeout_ms,
                     proto::Ipv6Addr self, Send send, OnDead on_dead)
    : loop_(loop), policy_(period_ms, timeout_ms), self_(self), send_(std::move(send)),
      on_dead_(std::move(on_dead)), timer_(loop, [this] { on_timer(); }), id_(random_id()) {}

void Heartbeat::on_up() {
    running_ = true;
    policy_.on_up(loop_.now_ms());
    arm();
}

void Heartbeat::on_down() {
    running_ = false;
    timer_.stop();
}

void Heartbeat::probe_now() {
    if (!running_) {
        return;
    }
    policy_.on_probe_requested(loop_.now_ms());
    if (!policy_.probing()) { // else an unanswered probe is out: its timer runs
        on_timer();
    }
}

void Heartbeat::set_timing(std::uint64_t period_ms, std::uint64_t timeout_ms) {
    policy_.set_timing(period_ms, timeout_ms);
    if (running_) {
        arm();
    }
}

void Heartbeat::arm() {
    std::uint64_t now = loop_.now_ms();
    std::uint64_t deadline = policy_.next_deadline();
    timer_.start(deadline > now ? deadline - now : 0);
}

void Heartbeat::on_timer() {
    if (!running_) {
        return;
    }
    switch (policy_.on_timer(loop_.now_ms())) {
    case Action::None:
        arm();
        return;
    case Action::SendProbe:
        send_probe();
        // send_ may have taken the link down (a failed flush calls the
        // client's on_link_down, which calls on_down()): then stay disarmed.
        if (running_) {
            arm();
        }
        return;
    case Action::Dead:
        running_ = false;
        timer_.stop();
        ENFTUN_LOG_WARN("heartbeat: no answer from the router; the path is dead");
        on_dead_();
        return;
    }
}

void Heartbeat::send_probe() {
    auto len =
        proto::build_echo_request(self_, proto::kRouterLinkLocal, id_, ++seq_, Bytes{}, probe_buf_);
    if (!len) {
        return; // cannot happen: the buffer fits an empty echo request
    }
    ++probes_sent_;
    probe_sent_ns_ = loop::hrtime_ns();
    ENFTUN_LOG_DEBUG("heartbeat: probing the router (seq %u)", static_cast<unsigned>(seq_));
    send_(Bytes(probe_buf_.data(), *len));
}

bool Heartbeat::consume(Bytes pkt) {
    auto ip = proto::parse_ipv6(pkt);
    if (!ip || ip->next_header() != proto::kProtoIcmpv6 || ip->src() != proto::kRouterLinkLocal ||
        ip->dst() != self_) {
        return false;
    }
    auto icmp = proto::parse_icmpv6(*ip);
    if (!icmp || icmp->type() != proto::kIcmpv6EchoReply || icmp->echo_id() != id_) {
        return false;
    }
    if (icmp->echo_seq() == seq_ && probe_sent_ns_ != 0) { // an older probe's reply is late
        last_rtt_us_ = (loop::hrtime_ns() - probe_sent_ns_) / 1000;
        last_rtt_at_ms_ = loop_.now_ms();
        probe_sent_ns_ = 0; // a duplicate reply measures nothing
    }
    return true;
}

} // namespace enftun::heartbeat
