#include "enftun/client/client.hpp"

#include "enftun/client/client_ipv4.hpp"
#include "enftun/link/super_packet.hpp"

#include "enftun/log/log.hpp"
#include "enftun/netlink/link_config.hpp"
#include "enftun/tls/identity.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace enftun::tunnel {

namespace {

// Packets read from the TUN per readable event, before yielding to the loop.
constexpr int kTunBatch = 64;
// Bytes queued towards the router before the client stops reading the TUN.
constexpr std::size_t kSendBuffer = 256 * 1024;

// privilege_hint: what an EPERM from the TUN or rtnetlink means for enftun.
// TUNSETIFF (drivers/net/tun.c tun_not_capable) lets a process attach to an
// existing persistent TUN if it owns it (or its group), and otherwise asks
// for CAP_NET_ADMIN, which creating a TUN always needs; so does changing
// links and addresses over rtnetlink.
const char* privilege_hint(const Error& e, bool tunsetiff) {
    if (e.sys != EPERM) {
        return "";
    }
    return tunsetiff ? " (the device belongs to another user, or it does not exist and creating "
                       "it needs CAP_NET_ADMIN: create it with enftun-setup --user USER)"
                     : " (needs CAP_NET_ADMIN)";
}

Result<tun::TunDevice> open_tun(const config::ClientConfig& cfg, const proto::Ipv6Addr& self,
                                const ClientIpv4& self4) {
    auto tun = tun::TunDevice::open(cfg.tun.dev_node, cfg.tun.dev,
                                    {.offload = cfg.tun.offload, .tso4 = cfg.route.allow_ipv4});
    if (!tun) {
        ENFTUN_LOG_ERROR("cannot open TUN %s via %s: %s: %s%s", cfg.tun.dev.c_str(),
                         cfg.tun.dev_node.c_str(), tun.error().what, strerror(tun.error().sys),
                         privilege_hint(tun.error(), true));
        return tun.error();
    }
    auto nl = netlink::LinkConfig::create();
    if (!nl) {
        ENFTUN_LOG_ERROR("%s: %s", nl.error().what, strerror(nl.error().sys));
        return nl.error();
    }
    if (auto st = nl->set_mtu_up(tun->ifindex(), cfg.tun.mtu); !st) {
        ENFTUN_LOG_ERROR("%s %s (mtu %u): %s%s", st.error().what, cfg.tun.dev.c_str(), cfg.tun.mtu,
                         strerror(st.error().sys), privilege_hint(st.error(), false));
        return st.error();
    }
    if (cfg.tun.set_address) {
        if (auto st = nl->add_address(tun->ifindex(), self, 128); !st) {
            ENFTUN_LOG_ERROR("%s %s: %s%s", st.error().what, cfg.tun.dev.c_str(),
                             strerror(st.error().sys), privilege_hint(st.error(), false));
            return st.error();
        }
        if (auto st = self4.from_certificate ? nl->add_ipv4_address(tun->ifindex(), *self4.address)
                                             : Status{};
            !st) {
            ENFTUN_LOG_ERROR("%s %s: %s%s", st.error().what, cfg.tun.dev.c_str(),
                             strerror(st.error().sys), privilege_hint(st.error(), false));
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
        ENFTUN_LOG_ERROR("identity %s: %s%s%s", config.identity.cert_file.c_str(),
                         self.error().what, self.error().sys != 0 ? ": " : "",
                         self.error().sys != 0 ? strerror(self.error().sys) : "");
        return self.error();
    }
    auto self4 = client_ipv4(config); // inner IPv4: client_ipv4.hpp
    if (!self4) {
        return self4.error();
    }
    auto tls = make_tls(config);
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
    auto tun = open_tun(config, *self, *self4);
    if (!tun) {
        return tun.error();
    }
    ENFTUN_LOG_INFO("identity %s on %s (mtu %u)", self->to_string().c_str(), tun->name().c_str(),
                    config.tun.mtu);
    return std::unique_ptr<Client>(
        new Client(loop, config, *self, self4->address, std::move(*tun), std::move(*tls)));
}

Client::Client(loop::Loop& loop, const config::ClientConfig& config, proto::Ipv6Addr self,
               std::optional<proto::Ipv4Addr> self4, tun::TunDevice tun, tls::TlsContext tls)
    : loop_(loop), config_(config), self_(self), tun_(std::move(tun)), tls_(std::move(tls)),
      egress_(self, config.route.allow_ipv4, self4), ingress_(self, config.route.allow_ipv4, self4),
      backoff_(
          {.cap_ms = static_cast<std::uint64_t>(config.remote.reconnect_max_delay.count()),
           .stable_ms = static_cast<std::uint64_t>(config.remote.reconnect_stable_period.count())},
          conn::system_random()),
      tun_poll_(loop, tun_.fd(),
                [this](int status, int) {
                    if (status < 0) {
                        on_tun_failed(status);
                    } else {
                        on_tun_readable();
                    }
                }),
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
          [this](Bytes pkt) { send_probe(pkt); }, [this] { on_heartbeat_dead(); }),
      retry_timer_(loop,
                   [this] {
                       apply(ClientEvent::RetryDue);
                       connector_.start();
                   }),
      identity_(loop, config.identity, config.remote.ca_cert_file, self,
                [this] { on_identity_changed(); }),
      route_monitor_(loop, {}, [this](const netlink::NetChanges& c) { on_route_change(c); }),
      tun_routes_(loop, tun_.ifindex(), [this] { readd_tun_address(); }), dead_links_(loop),
      route_log_(loop),
      reconnect_lines_(loop, [this] { return describe_state("waiting for the next attempt"); }),
      idle_timer_(loop, [this] { on_idle_tick(); }), busy_poll_(loop, config.tun.busy_poll_us),
      router_card_(loop, router_card_options(config, self),
                   [this](Bytes pkt) { return send_to_host(pkt); }),
      down_buf_(max_payload()) {}

Client::~Client() = default;

std::size_t Client::max_payload() const {
    // Accept at least 1500-byte packets even on a 1280-MTU TUN: a peer with
    // a larger MTU must not be able to tear our tunnel down by talking to us.
    return std::max<std::size_t>(config_.tun.mtu, 1500);
}

void Client::start() {
    identity_.start();
    start_route_monitor();
    if (auto st = tun_routes_.start(); !st) {
        ENFTUN_LOG_WARN("TUN routes are not kept (%s: %s): after the TUN goes down and up, "
                        "enftun-setup down and up restore them",
                        st.error().what, strerror(st.error().sys));
    }
    router_card_.start();
    tun_poll_.watch(UV_READABLE); // the router card answers the host at once
    if (listener_.on_state) {
        listener_.on_state(state_, describe_state({}));
    }
    if (!resume_backoff()) { // an earlier run's back-off (client_backoff.cpp)
        connector_.start();
    }
}

// The one place the state changes: every change is logged (debug) and
// told to the listener.
void Client::apply(ClientEvent event, std::string_view why) {
    auto next = client_transition(state_, event);
    if (!next) {
        ENFTUN_LOG_DEBUG("state %s: %s ignored", to_string(state_), to_string(event));
        return;
    }
    ENFTUN_LOG_DEBUG("state %s -> %s (%s)", to_string(state_), to_string(*next), to_string(event));
    state_ = *next;
    if (listener_.on_state) {
        listener_.on_state(state_, describe_state(why));
    }
}

// One line for the service manager's STATUS= (systemctl status).
std::string Client::describe_state(std::string_view why) const {
    switch (state_) {
    case ClientState::Connecting: {
        std::string text = "connecting to ";
        for (std::size_t i = 0; i < config_.remote.hosts.size(); ++i) {
            text += (i > 0 ? ", " : "") + config_.remote.hosts[i];
        }
        return text + " port " + std::to_string(config_.remote.port);
    }
    case ClientState::Handshaking:
        return "TLS handshake with " + peer_;
    case ClientState::Confirming:
        return "waiting for " + peer_ + " to accept us";
    case ClientState::Up:
        return "up via " + peer_ + " as " + self_.to_string();
    case ClientState::BackingOff:
        return "backing off: " + std::string(why);
    case ClientState::Stopped:
        return "stopping";
    }
    return to_string(state_);
}

void Client::stop() {
    apply(ClientEvent::Stop);
    backoff_at_stop();
    connector_.cancel();
    retry_timer_.stop();
    identity_.stop();
    idle_timer_.stop();
    busy_poll_.stop();
    route_monitor_.stop();
    tun_routes_.stop();
    heartbeat_.on_down();
    router_card_.stop(); // writes the final RA: the TUN is still open here
    tun_poll_.watch(0);
    if (link_) {
        link_->shutdown();
    }
}

void Client::on_connected(conn::Connected connected) {
    // The router must prove it is the host we meant (peer_policy.hpp).
    if (auto fresh = identity_.reload(tls_.policy())) {
        replace_tls(std::move(*fresh)); // a renewed certificate and key (enftun-keygen --renew)
    }
    auto stream = tls::TlsStream::create(tls_, std::move(connected.fd),
                                         config_.remote.server_name.value_or(connected.host));
    if (!stream || !stream->offer_protocols(config_.remote.protocol)) {
        reconnect_log_.record("TLS stream setup failed", false, std::time(nullptr));
        const std::string why = "cannot start TLS with " + connected.peer;
        apply(ClientEvent::ConnectFailed, why);
        schedule_reconnect(why);
        return;
    }
    peer_ = connected.peer;
    if (reconnect_lines_.allow(ReconnectLines::Line::Connected)) {
        ENFTUN_LOG_INFO("connected to %s; TLS handshake", peer_.c_str());
    }
    TlsLink::Options opts;
    opts.max_payload = max_payload();
    opts.write_capacity = kSendBuffer;
    opts.handshake_timeout_ms = static_cast<std::uint64_t>(config_.remote.connect_timeout.count());
    link_ = std::make_unique<TlsLink>(loop_, std::move(*stream), *this, opts);
    apply(ClientEvent::Connected);
}

void Client::on_connect_failed() {
    const std::string why = "could not connect to any remote host";
    reconnect_log_.record("connect failed: no remote host answered", false, std::time(nullptr));
    apply(ClientEvent::ConnectFailed, why);
    schedule_reconnect(why);
}

// Logs the one line of a reconnect: its reason and when the next attempt is.
void Client::schedule_reconnect(const std::string& why) {
    if (state_ == ClientState::Stopped) {
        ENFTUN_LOG_INFO("%s", why.c_str());
        return;
    }
    // A network change during the attempt that just failed may have fixed
    // what made it fail (on_route_change): retry as soon as the pacer allows.
    const bool changed = std::exchange(change_in_attempt_, false);
    if (std::exchange(reconnect_now_, false) || changed) {
        if (retry_soon() && changed) {
            ++stats_.early_retries;
        }
        save_backoff();
        const std::uint64_t now = loop_.now_ms();
        if (reconnect_lines_.allow(ReconnectLines::Line::Reconnect, reconnect_log_.last_reason())) {
            ENFTUN_LOG_WARN(
                "%s; reconnecting in %llu ms (no backoff%s)", why.c_str(),
                static_cast<unsigned long long>(retry_due_ms_ > now ? retry_due_ms_ - now : 0),
                changed ? ": the network changed during the attempt" : "");
        }
        return;
    }
    // The ceiling in the log shows where the schedule is (and that the cap holds).
    const std::uint64_t ceiling = backoff_.current_ceiling();
    std::uint64_t delay = backoff_.next_delay();
    if (reconnect_lines_.allow(ReconnectLines::Line::Reconnect, reconnect_log_.last_reason(),
                               true)) {
        ENFTUN_LOG_WARN("%s; reconnecting in %llu ms (ceiling %llu ms)", why.c_str(),
                        static_cast<unsigned long long>(delay),
                        static_cast<unsigned long long>(ceiling));
    }
    retry_due_ms_ = loop_.now_ms() + delay;
    retry_timer_.start(delay);
    save_backoff();
}

// ------------------------------------------------ network changes (netlink)
//
// Up: ask the kernel which path it would take to the router now
// (conn/route_check.hpp). Another source, or none, means the tunnel is on a
// path that is no longer preferred or no longer exists: reconnect at once,
// without backoff. The same source keeps the connection and asks the
// heartbeat for a probe, to prove the (possibly re-routed) path works.
// Backing off: a network change may have fixed what made the last attempt
// fail, so retry now. Connecting/handshaking: leave the attempt to its own
// timeout, but remember the change: if the attempt fails, the next one
// follows at once instead of after the backoff. Event-driven retries go
// through retry_pacer_, so a flapping link costs at most one attempt per
// kRouteRetryIntervalMs.

// Brings the next connection attempt forward to now, or to as soon as the
// pacer allows. Returns false if an attempt is already due no later.
bool Client::retry_soon() {
    std::uint64_t now = loop_.now_ms();
    std::uint64_t delay = retry_pacer_.delay(now);
    if (retry_timer_.active() && retry_due_ms_ <= now + delay) {
        return false;
    }
    retry_pacer_.on_retry(now + delay);
    retry_due_ms_ = now + delay;
    retry_timer_.start(delay);
    return true;
}

void Client::on_heartbeat_dead() {
    if (!link_) {
        return;
    }
    if (state_ == ClientState::Up) { // else an attempt failed, not a tunnel
        ++stats_.reconnects_heartbeat;
    }
    link_->shutdown();
    on_link_down("heartbeat timeout");
}

void Client::start_route_monitor() {
    if (auto st = route_monitor_.start(); !st) {
        ENFTUN_LOG_WARN("route monitor unavailable (%s: %s); relying on the heartbeat",
                        st.error().what, strerror(st.error().sys));
    }
}

// The kernel removed the TUN's IPv6 address when it went down (unless
// enftun-setup set keep_addr_on_down); put it back, before the routes.
void Client::readd_tun_address() {
    if (!config_.tun.set_address) {
        return;
    }
    auto nl = netlink::LinkConfig::create();
    auto st = nl ? nl->add_address(tun_.ifindex(), self_, 128) : Status(nl.error());
    if (!st) {
        ENFTUN_LOG_WARN("TUN up again: cannot add %s back: %s: %s", self_.to_string().c_str(),
                        st.error().what, strerror(st.error().sys));
    }
}

namespace {

// Wi-Fi drivers report scans and roaming steps as RTM_NEWLINK carrying
// IFLA_WIRELESS and no flag change; such events say nothing about routes.
bool only_wireless_chatter(const netlink::NetChanges& changes) {
    if (!changes.complete() || changes.sampled == 0) {
        return false;
    }
    for (std::size_t i = 0; i < changes.sampled; ++i) {
        const auto& ev = changes.sample[i];
        if (ev.kind != netlink::NetEventKind::Link || !ev.wireless || ev.link_change != 0) {
            return false;
        }
    }
    return true;
}

} // namespace

void Client::on_route_change(const netlink::NetChanges& changes) {
    if (state_ == ClientState::Stopped || only_wireless_chatter(changes)) {
        return;
    }
    ++stats_.route_changes;
    const std::string what = netlink::describe(changes);
    if (state_ == ClientState::Confirming || state_ == ClientState::Up) {
        check_route(what);
        return;
    }
    if (state_ == ClientState::BackingOff) {
        if (retry_soon()) {
            ++stats_.early_retries;
        }
        const std::uint64_t now = loop_.now_ms();
        if (route_log_.allow()) {
            ENFTUN_LOG_INFO(
                "route change (%s): retrying the connection in %llu ms (was backing off)",
                what.c_str(),
                static_cast<unsigned long long>(retry_due_ms_ > now ? retry_due_ms_ - now : 0));
        }
        return;
    }
    // Connecting or handshaking: the attempt keeps its own timeout, but if it
    // fails the next one follows without backoff (schedule_reconnect).
    change_in_attempt_ = true;
    if (route_log_.allow()) {
        ENFTUN_LOG_INFO("route change (%s): connection attempt in progress; left to its timeout, "
                        "a retry without backoff if it fails",
                        what.c_str());
    }
}

void Client::check_route(const std::string& what) {
    const int fd = link_->stream().fd();
    auto local = conn::socket_local_address(fd);
    auto peer = conn::socket_peer_address(fd);
    if (!local || !peer) {
        // ENOTCONN: the kernel already dropped the connection (e.g. RST).
        if (route_log_.allow()) {
            ENFTUN_LOG_INFO("route change (%s): reconnecting: the tunnel socket is not connected",
                            what.c_str());
        }
        reconnect_for_route();
        return;
    }
    auto preferred = conn::probe_preferred_source(*peer, config_.route.fwmark);
    const std::string local_str = conn::format_address(*local);
    if (conn::decide_route_change(preferred, *local) == conn::RouteDecision::KeepAndProbe) {
        ++stats_.route_unchanged;
        if (route_log_.allow()) {
            ENFTUN_LOG_INFO("route change (%s): preferred path unchanged (source %s); probing the "
                            "router",
                            what.c_str(), local_str.c_str());
        }
        heartbeat_.probe_now();
        return;
    }
    if (preferred) {
        if (route_log_.allow()) {
            ENFTUN_LOG_INFO(
                "route change (%s): reconnecting: preferred source is now %s, tunnel uses %s",
                what.c_str(), conn::format_address(*preferred).c_str(), local_str.c_str());
        }
    } else {
        if (route_log_.allow()) {
            ENFTUN_LOG_INFO("route change (%s): reconnecting: no route to %s (%s)", what.c_str(),
                            conn::format_address(*peer).c_str(), strerror(preferred.error().sys));
        }
    }
    reconnect_for_route();
}

void Client::replace_tls(tls::TlsContext fresh) {
    retired_tls_ = std::move(tls_);
    tls_ = std::move(fresh);
}

// The certificate or key files changed: use them at once if they load (the
// live session keeps the old ones until it ends), else keep the old ones.
void Client::on_identity_changed() {
    auto fresh = identity_.reload(tls_.policy());
    if (!fresh) {
        return;
    }
    replace_tls(std::move(*fresh));
    if (link_ && state_ != ClientState::Stopped) {
        ENFTUN_LOG_INFO("reconnecting to %s with the renewed identity", peer_.c_str());
        backoff_.reset();
        reconnect_now_ = true;
        link_->shutdown();
        on_link_down("identity renewed");
    }
}

void Client::reconnect_for_route() {
    if (state_ == ClientState::Up) { // counted like disconnects: tunnels that were up
        ++stats_.reconnects_route;
    }
    backoff_.reset();      // the old path's failures say nothing about the new one
    reconnect_now_ = true; // on_link_down -> schedule_reconnect -> retry_soon
    link_->shutdown();     // close_notify on the old path, best effort
    on_link_down("route change");
}

// The handshake is done on our side, but under TLS 1.3 the router checks our
// certificate only after our Finished: it may still refuse us. So the tunnel
// counts as up only once a first frame arrives, and a heartbeat is sent at
// once to draw one (the router answers echo requests to fe80::1).
void Client::on_link_up() {
    if (reconnect_lines_.allow(ReconnectLines::Line::TlsSession)) {
        ENFTUN_LOG_INFO("TLS session with %s (%s); waiting for the router", peer_.c_str(),
                        link_->stream().describe().c_str());
    }
    apply(ClientEvent::TlsUp);
    change_in_attempt_ = false; // the attempt worked; check_route() takes over
    proven_ = false;
    heartbeat_.on_up();
    heartbeat_.probe_now();
}

void Client::on_confirmed() {
    apply(ClientEvent::FirstFrame);
    ++stats_.connects;
    up_since_ms_ = loop_.now_ms();
    if (reconnect_lines_.allow(ReconnectLines::Line::TunnelUp)) {
        ENFTUN_LOG_INFO("tunnel up: %s via %s (%s)", self_.to_string().c_str(), peer_.c_str(),
                        link_->stream().describe().c_str());
    }
    router_card_.on_tunnel_up();
    tun_poll_.watch(UV_READABLE);
    idle_trim_.on_trimmed(stats_.tun_packets());
    idle_timer_.start(idle_tick_ms());
}

// A quiet heartbeat period (the operator's measure of idle), within 1 s and
// 1 min, so a burst's memory comes back within two minutes at most.
std::uint64_t Client::idle_tick_ms() const {
    return std::clamp<std::uint64_t>(
        static_cast<std::uint64_t>(config_.remote.heartbeat_period.count()), 1000, 60000);
}

// After a burst has gone quiet: its buffers go back (link/idle_trim.hpp);
// the next packet brings back what it needs.
void Client::on_idle_tick() {
    if (!link_ || state_ != ClientState::Up) {
        return;
    }
    if (idle_trim_.on_tick(stats_.tun_packets())) {
        link_->release_buffers();
        ++stats_.idle_trims;
        ENFTUN_LOG_DEBUG("idle: buffers released");
    }
    idle_timer_.start(idle_tick_ms());
}

// A readable event of the link has delivered its frames: one event for
// busy-polling, however many frames it held.
void Client::on_read_done(std::size_t frames) {
    busy_poll_.on_event(BusyPoller::Side::Link, frames);
}

void Client::on_link_down(const char* reason) {
    const bool was_up = state_ == ClientState::Up;
    const bool stopped = state_ == ClientState::Stopped;
    const std::string why = "connection to " + peer_ + " lost: " + reason;
    apply(ClientEvent::LinkDown, why);
    idle_timer_.stop();
    if (link_ && link_->protocol_error()) {
        ++stats_.protocol_errors;
    }
    if (link_) {
        stats_.link_rx_bytes += link_->bytes_received();
        stats_.link_tx_bytes += link_->bytes_sent();
    }
    if (!stopped) {
        reconnect_log_.record(reason, was_up, std::time(nullptr),
                              was_up ? loop_.now_ms() - up_since_ms_ : 0);
    }
    heartbeat_.on_down();
    // Keep reading the TUN, for the router card only (drain_tun_while_down).
    tun_poll_.watch(stopped ? 0 : UV_READABLE);
    if (was_up) {
        ++stats_.disconnects;
        backoff_.on_connection_ended(up_since_ms_, loop_.now_ms());
    }
    dead_links_.bury(std::move(link_));
    schedule_reconnect(why);
}

void Client::on_send_drained() {
    if (link_ && link_->up()) {
        tun_poll_.watch(UV_READABLE);
        if (tun_.pending()) {
            on_tun_readable(); // staged segments: no readable event will come
        }
    }
}

// Version 2: a super-packet goes to the TUN whole where the TUN takes
// offloads of its type (the kernel segments it); else the link splits it for on_frame,
// as also when an older kernel refuses a UDP one for its segment count
// (tun::gso_write_wants_split).
bool Client::on_gso_frame(Bytes packet, const framing::GsoMeta& gso) {
    if (!tun_.takes_gso(gso.gso_type)) {
        ++stats_.gso_rx_split;
        return false;
    }
    if (state_ == ClientState::Confirming) {
        on_confirmed();
    }
    heartbeat_.on_rx();
    if (ingress_.check(packet) != filter::Verdict::Accept) {
        ++stats_.gso_rx_whole;
        return true;
    }
    auto n = tun_.write_gso(packet, vnet_hdr_for(gso));
    if (!n && tun::gso_write_wants_split(n.error().sys, vnet_hdr_for(gso), packet.size())) {
        ++stats_.gso_rx_split; // an older kernel's USO limit (tun/offload.hpp)
        return false;
    }
    ++stats_.gso_rx_whole;
    if (!n) {
        ++stats_.tun_tx_errors;
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN write failed: %s", strerror(n.error().sys));
        return true;
    }
    ++stats_.tun_tx;
    stats_.tun_tx_bytes += packet.size();
    return true;
}

void Client::on_frame(Bytes packet) {
    if (state_ == ClientState::Confirming) {
        on_confirmed();
    }
    heartbeat_.on_rx();
    if (heartbeat_.consume(packet)) {
        on_heartbeat_reply();
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
    stats_.tun_tx_bytes += packet.size();
}

// Our probe came back through the tunnel: it carries packets both ways.
// The first time per tunnel is what the service manager waits for (READY=1).
void Client::on_heartbeat_reply() {
    if (proven_ || state_ != ClientState::Up) {
        return;
    }
    proven_ = true;
    on_backoff_proven();
    ENFTUN_LOG_DEBUG("tunnel via %s proven: heartbeat round trip", peer_.c_str());
    if (listener_.on_proven) {
        listener_.on_proven();
    }
}

// The TUN fd reported an error (e.g. the device was deleted under us): no
// packet can move any more, so stop and let the service manager restart us.
void Client::on_tun_failed(int status) {
    ENFTUN_LOG_ERROR("TUN %s failed: %s; stopping", tun_.name().c_str(), uv_strerror(status));
    failed_ = true;
    stop();
    loop_.stop();
}

void Client::on_tun_readable() {
    if (!link_ || link_->dead() || state_ != ClientState::Up) {
        drain_tun_while_down();
        return;
    }
    framing::FrameWriter& writer = link_->writer();
    int committed = 0;
    // Past the batch only to empty an offloaded read (TunDevice::pending).
    for (int i = 0; i < kTunBatch || tun_.pending(); ++i) {
        if (whole_reads() && !tun_.pending()) {
            const TunStep step = read_tun_whole(writer);
            if (step == TunStep::Stop) {
                break;
            }
            if (step == TunStep::Committed) {
                // A super-packet counts as its segments (busy-polling's measure).
                committed += static_cast<int>(last_segments_);
                if (committed == 1 && light_load_ && !link_->flush()) {
                    return; // the write failed: on_link_down follows
                }
            }
            if (step != TunStep::Full) {
                continue;
            }
            if (!link_->flush()) {
                return;
            }
            if (writer.reserve_gso_frame(framing::kMaxSuperPacket).empty()) {
                tun_poll_.watch(0); // backpressure: on_send_drained resumes us
                break;
            }
            continue;
        }
        MutBytes room = writer.reserve_frame(max_payload());
        if (room.empty()) {
            // Full: hand it to the socket first. Pause only if that stalls,
            // for a stalled flush is what on_send_drained() answers; a pause
            // with nothing owed would never be resumed.
            if (!link_->flush()) {
                return; // the write failed: on_link_down follows
            }
            room = writer.reserve_frame(max_payload());
            if (room.empty()) {
                tun_poll_.watch(0); // backpressure: on_send_drained resumes us
                break;
            }
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
        stats_.tun_rx_bytes += *n;
        const Bytes pkt(room.data(), *n);
        if (*n == 0 || router_card_.consume(pkt) || egress_.check(pkt) != filter::Verdict::Accept) {
            continue;
        }
        writer.commit_frame(*n);
        // Ping-pong traffic (the last event brought one packet): send this
        // one before the read that will most likely find the queue empty, so
        // that EAGAIN is off the round trip. Under load batches stay whole.
        if (++committed == 1 && light_load_ && !link_->flush()) {
            return; // the write failed: on_link_down follows
        }
    }
    light_load_ = committed <= 1;
    if (link_->flush()) {
        busy_poll_.on_event(BusyPoller::Side::Tun, static_cast<std::size_t>(committed));
    }
}

bool Client::whole_reads() const {
    return link_->version() == 2 && tun_.offload();
}

// Version 2 (PROTOCOL.md): one TUN read whole, straight into the send
// buffer behind a GSO frame's header and metadata, filled in after: a
// super-packet goes out in one GSO frame with no copy, no segmenting, no
// checksums; a plain packet slides over the metadata room into a packet
// frame. One a version-2 peer would refuse is split (TunDevice::split_staged;
// read() hands out its segments). Full: no room for a largest frame; nothing
// was read.
Client::TunStep Client::read_tun_whole(framing::FrameWriter& writer) {
    static_assert(tun::TunDevice::kMaxWholeRead == framing::kMaxSuperPacket);
    const MutBytes room = writer.reserve_gso_frame(framing::kMaxSuperPacket);
    if (room.size() < framing::kMaxSuperPacket) {
        return TunStep::Full;
    }
    auto r = tun_.read_whole_into(room);
    if (!r) {
        if (r.error().code != Errc::WouldBlock) {
            ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN read failed: %s",
                                   strerror(r.error().sys));
        }
        return TunStep::Stop;
    }
    ++stats_.tun_rx;
    stats_.tun_rx_bytes += r->packet.size();
    if ((r->hdr.gso_type & ~tun::kGsoEcn) != tun::kGsoNone) {
        auto meta = gso_meta_from_read(r->hdr, r->packet, max_payload());
        if (!meta) {
            (void)tun_.split_staged(); // a refused one is dropped
            return TunStep::Skipped;
        }
        if (egress_.check(r->packet) != filter::Verdict::Accept) {
            return TunStep::Skipped;
        }
        writer.commit_gso_frame(r->packet.size(), *meta);
        last_segments_ = framing::gso_segments(r->packet.size(), *meta);
        return TunStep::Committed;
    }
    if (r->packet.empty() || r->packet.size() > framing::kMaxFramePayload ||
        router_card_.consume(r->packet) || egress_.check(r->packet) != filter::Verdict::Accept) {
        return TunStep::Skipped;
    }
    writer.commit_gso_room_as_frame(r->packet.size());
    last_segments_ = 1;
    return TunStep::Committed;
}

// No tunnel: the router card still answers the host; the rest is dropped
// here rather than left in the TUN queue, where it would go stale and be
// sent to the router after the next connect.
void Client::drain_tun_while_down() {
    for (int i = 0; i < kTunBatch || tun_.pending(); ++i) {
        auto n = tun_.read(down_buf_);
        if (!n) {
            if (n.error().code != Errc::WouldBlock) {
                ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN read failed: %s",
                                       strerror(n.error().sys));
            }
            return;
        }
        ++stats_.tun_rx;
        stats_.tun_rx_bytes += *n;
        if (*n == 0 || !router_card_.consume(Bytes(down_buf_.data(), *n))) {
            ++stats_.tun_dropped_down;
        }
    }
}

// The router card's replies: one synchronous TUN write each.
bool Client::send_to_host(Bytes packet) {
    auto n = tun_.write(packet);
    if (!n) {
        ++stats_.tun_tx_errors;
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN write failed: %s", strerror(n.error().sys));
        return false;
    }
    ++stats_.tun_tx;
    stats_.tun_tx_bytes += packet.size();
    return true;
}

void Client::send_probe(Bytes packet) {
    if (!link_ || !link_->up() || link_->dead() || !link_->writer().append_frame(packet)) {
        ++stats_.probes_dropped;
        return;
    }
    (void)link_->flush(); // a failure comes back as on_link_down
}

void Client::log_stats() const {
    const auto& eg = egress_.stats();
    const auto& in = ingress_.stats();
    ENFTUN_LOG_INFO(
        "stats: tun rx %llu tx %llu tx-errors %llu dropped-while-down %llu; egress accepted "
        "%llu dropped source %llu ipv4 %llu malformed %llu nd %llu; ingress accepted %llu "
        "dropped destination %llu ipv4 %llu malformed %llu nd %llu; connects %llu disconnects %llu "
        "protocol-errors %llu heartbeats %llu",
        static_cast<unsigned long long>(stats_.tun_rx),
        static_cast<unsigned long long>(stats_.tun_tx),
        static_cast<unsigned long long>(stats_.tun_tx_errors),
        static_cast<unsigned long long>(stats_.tun_dropped_down),
        static_cast<unsigned long long>(eg.accepted),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::WrongSource)),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::Ipv4NotAllowed)),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::Malformed)),
        static_cast<unsigned long long>(eg.dropped_for(filter::DropReason::NeighborDiscovery)),
        static_cast<unsigned long long>(in.accepted),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::WrongDestination)),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::Ipv4NotAllowed)),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::Malformed)),
        static_cast<unsigned long long>(in.dropped_for(filter::DropReason::NeighborDiscovery)),
        static_cast<unsigned long long>(stats_.connects),
        static_cast<unsigned long long>(stats_.disconnects),
        static_cast<unsigned long long>(stats_.protocol_errors),
        static_cast<unsigned long long>(heartbeat_.probes_sent()));
    const std::uint64_t ended_by_us = stats_.reconnects_route + stats_.reconnects_heartbeat;
    ENFTUN_LOG_INFO(
        "stats: reconnects route %llu heartbeat %llu other %llu; route changes %llu unchanged "
        "%llu early-retries %llu; netlink events %llu overruns %llu; idle-trims %llu; busy-poll "
        "spins %llu hits %llu",
        static_cast<unsigned long long>(stats_.reconnects_route),
        static_cast<unsigned long long>(stats_.reconnects_heartbeat),
        static_cast<unsigned long long>(
            stats_.disconnects > ended_by_us ? stats_.disconnects - ended_by_us : 0),
        static_cast<unsigned long long>(stats_.route_changes),
        static_cast<unsigned long long>(stats_.route_unchanged),
        static_cast<unsigned long long>(stats_.early_retries),
        static_cast<unsigned long long>(route_monitor_.events()),
        static_cast<unsigned long long>(route_monitor_.overruns()),
        static_cast<unsigned long long>(stats_.idle_trims),
        static_cast<unsigned long long>(busy_poll_.policy().spins()),
        static_cast<unsigned long long>(busy_poll_.policy().hits()));
    router_card_.log_stats();
}

} // namespace enftun::tunnel
