#include "enftun/tunnel/client.hpp"

#include "enftun/log/log.hpp"
#include "enftun/netlink/link_config.hpp"
#include "enftun/tls/identity.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::tunnel {

namespace {

// Packets read from the TUN per readable event, before yielding to the loop.
constexpr int kTunBatch = 64;
// Bytes queued towards the router before the client stops reading the TUN.
constexpr std::size_t kSendBuffer = 256 * 1024;

Result<tun::TunDevice> open_tun(const config::ClientConfig& cfg, const proto::Ipv6Addr& self) {
    auto tun = tun::TunDevice::open(cfg.tun.dev_node, cfg.tun.dev);
    if (!tun) {
        ENFTUN_LOG_ERROR("cannot open TUN %s via %s: %s: %s", cfg.tun.dev.c_str(),
                         cfg.tun.dev_node.c_str(), tun.error().what, strerror(tun.error().sys));
        return tun.error();
    }
    auto nl = netlink::LinkConfig::create();
    if (!nl) {
        ENFTUN_LOG_ERROR("%s: %s", nl.error().what, strerror(nl.error().sys));
        return nl.error();
    }
    if (auto st = nl->set_mtu_up(tun->ifindex(), cfg.tun.mtu); !st) {
        ENFTUN_LOG_ERROR("%s %s (mtu %u): %s", st.error().what, cfg.tun.dev.c_str(), cfg.tun.mtu,
                         strerror(st.error().sys));
        return st.error();
    }
    if (cfg.tun.set_address) {
        if (auto st = nl->add_address(tun->ifindex(), self, 128); !st) {
            ENFTUN_LOG_ERROR("%s %s: %s", st.error().what, cfg.tun.dev.c_str(),
                             strerror(st.error().sys));
            return st.error();
        }
    }
    return tun;
}

} // namespace

Result<std::unique_ptr<Client>> Client::create(loop::Loop& loop,
                                               const config::ClientConfig& config) {
    auto self = tls::address_from_cert_file(config.identity.cert_file);
    if (!self) {
        ENFTUN_LOG_ERROR("identity %s: %s", config.identity.cert_file.c_str(), self.error().what);
        return self.error();
    }
    auto tls = tls::TlsContext::create(
        tls::Role::Client,
        {config.remote.ca_cert_file, config.identity.cert_file, config.identity.key_file});
    if (!tls) {
        return tls.error();
    }
    if (config.identity.ip_file) {
        if (auto st = tls::write_ip_file(*config.identity.ip_file, *self); !st) {
            ENFTUN_LOG_ERROR("%s %s: %s", st.error().what, config.identity.ip_file->c_str(),
                             strerror(st.error().sys));
            return st.error();
        }
    }
    auto tun = open_tun(config, *self);
    if (!tun) {
        return tun.error();
    }
    ENFTUN_LOG_INFO("identity %s on %s (mtu %u)", self->to_string().c_str(), tun->name().c_str(),
                    config.tun.mtu);
    return std::unique_ptr<Client>(
        new Client(loop, config, *self, std::move(*tun), std::move(*tls)));
}

Client::Client(loop::Loop& loop, const config::ClientConfig& config, proto::Ipv6Addr self,
               tun::TunDevice tun, tls::TlsContext tls)
    : loop_(loop), config_(config), self_(self), tun_(std::move(tun)), tls_(std::move(tls)),
      egress_(self, config.route.allow_ipv4), ingress_(self, config.route.allow_ipv4),
      backoff_({.cap_ms = static_cast<std::uint64_t>(config.remote.reconnect_max_delay.count())},
               conn::system_random()),
      tun_poll_(loop, tun_.fd(), [this](int, int) { on_tun_readable(); }),
      connector_(
          loop,
          {config.remote.hosts, config.remote.port, config.route.fwmark,
           static_cast<std::uint64_t>(config.remote.connect_timeout.count()),
           conn::tcp_liveness_for(
               static_cast<std::uint64_t>(config.remote.heartbeat_period.count()),
               static_cast<std::uint64_t>(config.remote.heartbeat_timeout.count()))},
          [this](conn::Connected c) { on_connected(std::move(c)); },
          [this] { on_connect_failed(); }),
      heartbeat_(
          loop, static_cast<std::uint64_t>(config.remote.heartbeat_period.count()),
          static_cast<std::uint64_t>(config.remote.heartbeat_timeout.count()), self,
          [this](Bytes pkt) { send_probe(pkt); },
          [this] {
              if (link_) {
                  link_->shutdown();
                  on_link_down("heartbeat timeout");
              }
          }),
      retry_timer_(loop, [this] { connector_.start(); }),
      reaper_(loop, [this] { dead_link_.reset(); }) {}

Client::~Client() = default;

std::size_t Client::max_payload() const {
    // Accept at least 1500-byte packets even on a 1280-MTU TUN: a peer with
    // a larger MTU must not be able to tear our tunnel down by talking to us.
    return std::max<std::size_t>(config_.tun.mtu, 1500);
}

void Client::start() {
    connector_.start();
}

void Client::stop() {
    stopping_ = true;
    connector_.cancel();
    retry_timer_.stop();
    heartbeat_.on_down();
    tun_poll_.watch(0);
    if (link_) {
        link_->shutdown();
    }
}

void Client::on_connected(conn::Connected connected) {
    auto stream = tls::TlsStream::create(tls_, std::move(connected.fd));
    if (!stream) {
        schedule_reconnect();
        return;
    }
    peer_ = connected.peer;
    ENFTUN_LOG_INFO("connected to %s; TLS handshake", peer_.c_str());
    TlsLink::Options opts;
    opts.max_payload = max_payload();
    opts.write_capacity = kSendBuffer;
    opts.handshake_timeout_ms = static_cast<std::uint64_t>(config_.remote.connect_timeout.count());
    link_ = std::make_unique<TlsLink>(loop_, std::move(*stream), *this, opts);
}

void Client::on_connect_failed() {
    ENFTUN_LOG_WARN("could not connect to any remote host");
    schedule_reconnect();
}

void Client::schedule_reconnect() {
    if (stopping_) {
        return;
    }
    std::uint64_t delay = backoff_.next_delay();
    ENFTUN_LOG_INFO("reconnecting in %llu ms", static_cast<unsigned long long>(delay));
    retry_timer_.start(delay);
}

void Client::on_link_up() {
    ++stats_.connects;
    up_since_ms_ = loop_.now_ms();
    ENFTUN_LOG_INFO("tunnel up: %s via %s (%s)", self_.to_string().c_str(), peer_.c_str(),
                    link_->stream().describe().c_str());
    heartbeat_.on_up();
    tun_poll_.watch(UV_READABLE);
}

void Client::on_link_down(const char* reason) {
    bool was_up = link_ && link_->up();
    ENFTUN_LOG_WARN("connection to %s lost: %s", peer_.c_str(), reason);
    heartbeat_.on_down();
    tun_poll_.watch(0);
    if (was_up) {
        ++stats_.disconnects;
        backoff_.on_connection_ended(up_since_ms_, loop_.now_ms());
    }
    dead_link_ = std::move(link_);
    reaper_.start(0);
    schedule_reconnect();
}

void Client::on_send_drained() {
    if (link_ && link_->up()) {
        tun_poll_.watch(UV_READABLE);
    }
}

void Client::on_frame(Bytes packet) {
    heartbeat_.on_rx();
    if (heartbeat_.consume(packet)) {
        return;
    }
    if (ingress_.check(packet) != filter::Verdict::Accept) {
        return;
    }
    auto n = tun_.write(packet);
    if (!n) {
        ++stats_.tun_tx_errors;
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN write failed: %s", strerror(n.error().sys));
        return;
    }
    ++stats_.tun_tx;
}

void Client::on_tun_readable() {
    if (!link_ || !link_->up()) {
        tun_poll_.watch(0);
        return;
    }
    framing::FrameWriter& writer = link_->writer();
    for (int i = 0; i < kTunBatch; ++i) {
        MutBytes room = writer.reserve_frame(max_payload());
        if (room.empty()) {
            tun_poll_.watch(0); // backpressure: on_send_drained resumes us
            break;
        }
        auto n = tun_.read(room);
        if (!n) {
            if (n.error().code != Errc::WouldBlock) {
                ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN read failed: %s",
                                       strerror(n.error().sys));
            }
            break;
        }
        ++stats_.tun_rx;
        if (*n == 0 || egress_.check(Bytes(room.data(), *n)) != filter::Verdict::Accept) {
            continue;
        }
        writer.commit_frame(*n);
    }
    link_->flush();
}

void Client::send_probe(Bytes packet) {
    if (!link_ || !link_->up() || !link_->writer().append_frame(packet)) {
        ++stats_.probes_dropped;
        return;
    }
    link_->flush();
}

void Client::log_stats() const {
    const auto& eg = egress_.stats();
    const auto& in = ingress_.stats();
    ENFTUN_LOG_INFO(
        "stats: tun rx %llu tx %llu tx-errors %llu; egress accepted %llu dropped "
        "source %llu ipv4 %llu malformed %llu; ingress accepted %llu dropped "
        "destination %llu ipv4 %llu malformed %llu; connects %llu disconnects %llu "
        "heartbeats %llu",
        static_cast<unsigned long long>(stats_.tun_rx),
        static_cast<unsigned long long>(stats_.tun_tx),
        static_cast<unsigned long long>(stats_.tun_tx_errors),
        static_cast<unsigned long long>(eg.accepted),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::WrongSource)),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::Ipv4NotAllowed)),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::Malformed)),
        static_cast<unsigned long long>(in.accepted),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::WrongDestination)),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::Ipv4NotAllowed)),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::Malformed)),
        static_cast<unsigned long long>(stats_.connects),
        static_cast<unsigned long long>(stats_.disconnects),
        static_cast<unsigned long long>(heartbeat_.probes_sent()));
}

} // namespace enftun::tunnel
