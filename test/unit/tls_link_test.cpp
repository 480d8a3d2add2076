// Unit tests for link/tls_link: real TLS (OpenSSL, certificates from
// test_certs.hpp) over a real nonblocking AF_UNIX socketpair, driven by a real
// loop::Loop. Covers the handshake, the TLS 1.3 it negotiates and peer
// identity, frames both ways (many, under backpressure, and batches spanning
// TLS records), key updates (and a TLS 1.2 session ending at its key's
// record limit), a rejected client certificate, protocol errors (zero length,
// oversized, non-IP) that stop delivery, close_notify, EOF without it,
// garbage and the handshake timeout.
//
// Every wait is "run the loop until a condition holds", guarded by a 10 s
// watchdog (loop_helpers.hpp) that stops the loop and fails the test: no
// timing asserts.
// Callbacks only record what happened; asserts run after the loop returns
// (a cmocka assert longjmps, and must never cross libuv's stack frames).
#include "enftun/link/tls_link.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/alpn.hpp"
#include "enftun/tls/tls_context.hpp"
#include "enftun/tls/tls_stream.hpp"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_certs.hpp"

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::Bytes;
using enftun::UniqueFd;
using enftun::proto::Ipv6Addr;
using enftun::tls::Credentials;
using enftun::tls::Role;
using enftun::tls::TlsContext;
using enftun::tls::TlsStream;
using enftun::tunnel::TlsLink;

namespace {

using ByteVec = std::vector<std::uint8_t>;

const Ipv6Addr kClientAddr = *Ipv6Addr::parse("fd00:1::5");
const Ipv6Addr kRouterAddr = *Ipv6Addr::parse("fd00::1");

void check_done();

// One end of the link: a TlsLink and a Handler that records its callbacks
// and sends a list of packets, pumping more in as the writer drains.
struct Peer final : TlsLink::Handler {
    int ups = 0;
    int drained = 0;
    std::vector<ByteVec> frames;     // received payloads, in order
    std::optional<std::string> down; // reason given to on_link_down
    int downs = 0;
    std::vector<ByteVec> to_send;
    std::size_t next = 0; // first packet of to_send not yet queued
    std::optional<TlsLink> link;

    void on_link_up() override {
        ++ups;
        pump();
        check_done();
    }
    void on_frame(Bytes packet) override {
        frames.emplace_back(packet.begin(), packet.end());
        check_done();
    }
    void on_send_drained() override {
        ++drained;
        pump();
        check_done();
    }
    void on_link_down(const char* reason) override {
        ++downs;
        down = reason;
        check_done();
    }

    // Queues what fits, flushes, and repeats while the socket takes it all.
    void pump() {
        while (next < to_send.size() && !link->dead()) {
            while (next < to_send.size() && link->writer().append_frame(to_send[next])) {
                ++next;
            }
            link->flush();
            if (!link->writer().empty()) {
                return; // blocked: on_send_drained() resumes us
            }
        }
    }
    bool sent_all() { return next == to_send.size() && link->writer().empty(); }
};

// Certificates: made once per group.
struct Pki {
    std::string dir;
    Credentials router;       // CA-signed, CN fd00::1, serverAuth
    Credentials client;       // CA-signed, CN fd00:1::5, clientAuth
    Credentials rogue_client; // CN fd00:1::6 from another CA (other-ca.crt)
};
std::optional<Pki> g_pki;

// Per-test state, destroyed in teardown in the order that libuv needs:
// links and timers first, then the contexts, then the loop.
struct State {
    std::optional<enftun::loop::Loop> loop;
    std::optional<TlsContext> client_ctx;
    std::optional<TlsContext> server_ctx;
    Peer client;
    Peer server;
    UniqueFd raw;                           // the far end when one side is not a TlsLink
    std::optional<TlsStream> client_stream; // bare streams, for TlsStream's own tests
    std::optional<TlsStream> server_stream;
    std::optional<test_loop::Watchdog> watchdog;
    std::optional<enftun::loop::Idle> idle; // an owner's flush outside the link's poll
    std::string text;                       // scratch that outlives a failed assert
};
std::optional<State> g;

// Every link callback checks the condition of a g->watchdog->run_until() in progress.
void check_done() {
    g->watchdog->check_done();
}

bool write_pki(Pki& pki) {
    auto ca = test_certs::make_ca("enftun test CA");
    auto other_ca = test_certs::make_ca("some other CA");
    test_certs::CertSpec router_spec;
    router_spec.cns = {"fd00::1"};
    router_spec.usage = test_certs::Usage::Server;
    test_certs::CertSpec client_spec;
    client_spec.cns = {"fd00:1::5"};
    client_spec.san = {"IP:fd00:1::5"};
    client_spec.usage = test_certs::Usage::Client;
    test_certs::CertSpec rogue_spec = client_spec;
    rogue_spec.cns = {"fd00:1::6"};
    rogue_spec.san.clear();
    const std::string& d = pki.dir;
    pki.router = {d + "/ca.crt", d + "/router.crt", d + "/router.key"};
    pki.client = {d + "/ca.crt", d + "/client.crt", d + "/client.key"};
    pki.rogue_client = {d + "/ca.crt", d + "/rogue.crt", d + "/rogue.key"};
    return ca && other_ca && test_certs::write_cert_pem(d + "/ca.crt", ca.cert.get()) &&
           test_certs::write_cert_pem(d + "/other-ca.crt", other_ca.cert.get()) &&
           test_certs::write_pair(d, "router", test_certs::make_leaf(ca, router_spec)) &&
           test_certs::write_pair(d, "client", test_certs::make_leaf(ca, client_spec)) &&
           test_certs::write_pair(d, "rogue", test_certs::make_leaf(other_ca, rogue_spec));
}

int group_setup(void**) {
    g_pki.emplace();
    g_pki->dir = test_certs::make_temp_dir();
    return !g_pki->dir.empty() && write_pki(*g_pki) ? 0 : -1;
}

int group_teardown(void**) {
    test_certs::remove_temp_dir(g_pki->dir);
    g_pki.reset();
    return 0;
}

int setup(void**) {
    g.emplace();
    g->loop.emplace();
    g->watchdog.emplace(*g->loop);
    return 0;
}

int teardown(void**) {
    g->watchdog.reset();
    g->idle.reset();
    g->client.link.reset();
    g->server.link.reset();
    g->raw.reset();
    g->client_stream.reset();
    g->server_stream.reset();
    g->client_ctx.reset();
    g->server_ctx.reset();
    g->loop.reset(); // asserts that every handle was closed
    g.reset();
    return 0;
}

TlsContext& make_ctx(std::optional<TlsContext>& slot, Role role, const Credentials& creds) {
    auto ctx = TlsContext::create(role, creds);
    if (!ctx) {
        fail_msg("TlsContext::create: %s", ctx.error().what);
    }
    return slot.emplace(std::move(*ctx));
}

void make_link(Peer& peer, const TlsContext& ctx, int fd, TlsLink::Options opts) {
    auto stream = TlsStream::create(ctx, UniqueFd(fd));
    if (!stream) {
        fail_msg("TlsStream::create: %s", stream.error().what);
    }
    peer.link.emplace(*g->loop, std::move(*stream), peer, opts);
}

// A nonblocking AF_UNIX stream pair: [0] for the client, [1] for the server.
void socket_pair(int fds[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

// Client and server links on one socketpair.
void start_pair(const Credentials& client_creds, TlsLink::Options opts = {}) {
    int fds[2];
    socket_pair(fds);
    make_link(g->client, make_ctx(g->client_ctx, Role::Client, client_creds), fds[0], opts);
    make_link(g->server, make_ctx(g->server_ctx, Role::Server, g_pki->router), fds[1], opts);
}

// A bare client and server TlsStream on one socketpair (no links), kept
// in g->client_stream and g->server_stream.
void start_stream_pair(const Credentials& client_creds) {
    int fds[2];
    socket_pair(fds);
    auto c =
        TlsStream::create(make_ctx(g->client_ctx, Role::Client, client_creds), UniqueFd(fds[0]));
    auto s =
        TlsStream::create(make_ctx(g->server_ctx, Role::Server, g_pki->router), UniqueFd(fds[1]));
    assert_true(c.has_value() && s.has_value());
    g->client_stream.emplace(std::move(*c));
    g->server_stream.emplace(std::move(*s));
}

bool both_up() {
    return g->client.ups == 1 && g->server.ups == 1;
}

// A real IPv6 echo request with data_len bytes of data and sequence seq.
ByteVec echo(std::size_t data_len, std::uint16_t seq) {
    ByteVec data(data_len);
    for (std::size_t i = 0; i < data_len; ++i) {
        data[i] = static_cast<std::uint8_t>(i ^ seq);
    }
    ByteVec out(48 + data_len);
    auto n = enftun::proto::build_echo_request(kClientAddr, kRouterAddr, 1, seq, data, out);
    assert_true(n.has_value());
    return out;
}

ByteVec framed(const ByteVec& pkt) {
    ByteVec out{static_cast<std::uint8_t>(pkt.size() >> 8), static_cast<std::uint8_t>(pkt.size())};
    out.insert(out.end(), pkt.begin(), pkt.end());
    return out;
}

void assert_received(const Peer& rx, const Peer& tx) {
    assert_int_equal(rx.frames.size(), tx.to_send.size());
    for (std::size_t i = 0; i < rx.frames.size(); ++i) {
        if (rx.frames[i] != tx.to_send[i]) {
            fail_msg("frame %zu differs", i);
        }
    }
    assert_int_equal(rx.link->frames_received(), tx.to_send.size());
}

void assert_reason(const Peer& p, const char* want) {
    assert_true(p.down.has_value());
    if (p.down->find(want) == std::string::npos) {
        fail_msg("link down reason \"%s\" does not mention \"%s\"", p.down->c_str(), want);
    }
    assert_int_equal(p.downs, 1);
}

void test_handshake_and_identity(void**) {
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    assert_true(g->client.link->up());
    assert_true(g->server.link->up());
    auto client_addr = g->server.link->stream().peer_address();
    assert_true(client_addr.has_value());
    assert_true(*client_addr == kClientAddr);
    auto router_addr = g->client.link->stream().peer_address();
    assert_true(router_addr.has_value());
    assert_true(*router_addr == kRouterAddr);
    // Both ends offer TLS 1.2 and 1.3 (TlsContext): they agree on 1.3. The
    // client's "tunnel up" and the router's "session up" lines log this.
    for (const TlsStream* stream : {&g->client.link->stream(), &g->server.link->stream()}) {
        g->text = stream->describe();
        if (g->text.rfind("TLSv1.3 TLS_", 0) != 0) {
            fail_msg("negotiated \"%s\", expected TLSv1.3 and a TLS 1.3 cipher suite",
                     g->text.c_str());
        }
    }
    assert_false(g->client.down.has_value());
    assert_false(g->server.down.has_value());
}

void run_until_all_received(const char* what);

// Client and server links on one socketpair, negotiating the wire protocol
// by ALPN (tls/alpn.hpp): the client offers up to client_max, the server
// selects up to server_max.
void start_versioned_pair(unsigned client_max, unsigned server_max) {
    int fds[2];
    socket_pair(fds);
    auto stream =
        TlsStream::create(make_ctx(g->client_ctx, Role::Client, g_pki->client), UniqueFd(fds[0]));
    assert_true(stream.has_value());
    assert_true(stream->offer_protocols(client_max).has_value());
    g->client.link.emplace(*g->loop, std::move(*stream), g->client, TlsLink::Options{});
    TlsContext& server = make_ctx(g->server_ctx, Role::Server, g_pki->router);
    enftun::tls::accept_protocols(server.get(), server_max);
    make_link(g->server, server, fds[1], {});
}

// PROTOCOL.md "Negotiation": version 2 only when both speak it; a client
// offering nothing, or a server selecting up to 1, gives version 1. Frames
// of the version in force cross both ways (each side's reader and writer
// switched at the handshake).
void test_protocol_version_negotiation(void**) {
    const struct {
        unsigned client_max, server_max, want;
    } cases[] = {{2, 2, 2}, {1, 2, 1}, {2, 1, 1}, {1, 1, 1}};
    for (const auto& c : cases) {
        teardown(nullptr);
        setup(nullptr);
        for (std::uint16_t i = 0; i < 50; ++i) {
            g->client.to_send.push_back(echo(1200 + i, i));
            g->server.to_send.push_back(echo(100 + i, i));
        }
        start_versioned_pair(c.client_max, c.server_max);
        g->watchdog->run_until(both_up, "both links up");
        assert_int_equal(g->client.link->version(), c.want);
        assert_int_equal(g->server.link->version(), c.want);
        assert_int_equal(g->client.link->stream().protocol_version(), c.want);
        g->text = g->server.link->stream().describe();
        assert_int_equal(g->text.find("enftun/2") != std::string::npos, c.want == 2);
        run_until_all_received("frames both ways");
    }
}

// Version 2: a GSO frame reaches a handler that does not take it whole
// (Peer keeps the default on_gso_frame) as its segments, each at most the
// MTU, with the payload in order (TlsLink::split_to_handler).
void test_gso_frame_split_for_the_handler(void**) {
    constexpr std::size_t kPayload = 5000;
    constexpr std::uint16_t kMss = 1440;
    ByteVec& p = g->client.to_send.emplace_back(40 + 20 + kPayload, 0); // kept alive in g
    g->client.next = 1; // not for pump(): sent by hand below
    p[0] = 0x60;
    p[4] = static_cast<std::uint8_t>((20 + kPayload) >> 8);
    p[5] = static_cast<std::uint8_t>(20 + kPayload);
    p[6] = 6;
    p[7] = 64;
    std::memcpy(p.data() + 8, kClientAddr.bytes.data(), 16);
    std::memcpy(p.data() + 24, kRouterAddr.bytes.data(), 16);
    p[52] = 5 << 4;
    p[53] = 0x10;
    for (std::size_t i = 0; i < kPayload; ++i) {
        p[60 + i] = static_cast<std::uint8_t>(i % 251);
    }
    start_versioned_pair(2, 2);
    g->watchdog->run_until(both_up, "both links up");
    const enftun::framing::GsoMeta meta{enftun::framing::kGsoTypeTcpV6, 1, 60, kMss, 40, 16};
    assert_true(g->client.link->writer().append_gso_frame(p, meta));
    assert_true(g->client.link->flush());
    g->watchdog->run_until([] { return g->server.frames.size() == 4; }, "four segments");
    std::size_t off = 0;
    for (const ByteVec& seg : g->server.frames) {
        assert_true(seg.size() <= 60 + kMss);
        assert_memory_equal(seg.data() + 60, p.data() + 60 + off, seg.size() - 60);
        off += seg.size() - 60;
    }
    assert_int_equal(off, kPayload);
    assert_false(g->server.down.has_value());
}

// Runs the loop until each side has every frame the other queued, then
// checks them.
void run_until_all_received(const char* what) {
    g->watchdog->run_until(
        [] {
            return g->client.frames.size() == g->server.to_send.size() &&
                   g->server.frames.size() == g->client.to_send.size();
        },
        what);
    assert_received(g->server, g->client);
    assert_received(g->client, g->server);
}

// ~1.5 MB each way: far more than the socket buffers and the 64 KiB
// writers hold, so both sides block and resume on on_send_drained().
void exchange_many_frames(TlsLink::Options opts) {
    for (std::uint16_t i = 0; i < 2000; ++i) {
        g->client.to_send.push_back(echo((i * 37u) % 1453, i));
        g->server.to_send.push_back(echo((i * 101u) % 1453, static_cast<std::uint16_t>(~i)));
    }
    start_pair(g_pki->client, opts);
    run_until_all_received("all frames both ways");
    assert_true(g->client.sent_all());
    assert_true(g->server.sent_all());
    assert_true(g->client.drained > 0); // backpressure really happened
    assert_false(g->client.down.has_value());
    assert_false(g->server.down.has_value());
}

void test_frames_both_ways_under_backpressure(void**) {
    exchange_many_frames({});
}

// Both ends renew their sending keys every `records` records.
void start_renewing_pair(std::uint64_t records, int server_max_tls = 0) {
    int fds[2];
    socket_pair(fds);
    TlsContext& c = make_ctx(g->client_ctx, Role::Client, g_pki->client);
    TlsContext& s = make_ctx(g->server_ctx, Role::Server, g_pki->router);
    c.set_key_update_records(records);
    s.set_key_update_records(records);
    if (server_max_tls != 0) {
        SSL_CTX_set_max_proto_version(s.get(), server_max_tls);
    }
    make_link(g->client, c, fds[0], {});
    make_link(g->server, s, fds[1], {});
}

void fill_both_ways(std::uint16_t frames) {
    for (std::uint16_t i = 0; i < frames; ++i) {
        g->client.to_send.push_back(echo((i * 37u) % 1453, i));
        g->server.to_send.push_back(echo((i * 101u) % 1453, static_cast<std::uint16_t>(~i)));
    }
}

std::string key_update_counts() {
    const TlsStream& c = g->client.link->stream();
    const TlsStream& s = g->server.link->stream();
    char text[200];
    std::snprintf(text, sizeof text,
                  "sent (asking for one): client %llu (%llu), server %llu (%llu); received: "
                  "client %llu, server %llu",
                  static_cast<unsigned long long>(c.key_updates()),
                  static_cast<unsigned long long>(c.key_update_requests()),
                  static_cast<unsigned long long>(s.key_updates()),
                  static_cast<unsigned long long>(s.key_update_requests()),
                  static_cast<unsigned long long>(c.peer_key_updates()),
                  static_cast<unsigned long long>(s.peer_key_updates()));
    return text;
}

// RFC 8446 5.5: an AES-GCM key protects at most 2^24.5 records, and
// OpenSSL renews none by itself. With a threshold of 8 records, ~1.5 MB
// each way under backpressure (both sockets full most of the time) makes
// dozens of key updates each way. Every frame still arrives intact and in
// order; each end received about as many KeyUpdates (seen by OpenSSL's
// message callback) as the other sent, and none had to ask for one.
void test_keys_renewed_under_load(void**) {
    fill_both_ways(2000);
    start_renewing_pair(8);
    run_until_all_received("all frames both ways, keys renewed on the way");
    assert_false(g->client.down.has_value());
    assert_false(g->server.down.has_value());
    const TlsStream& c = g->client.link->stream();
    const TlsStream& s = g->server.link->stream();
    g->text = key_update_counts();
    if (c.key_updates() < 5 || s.key_updates() < 5 || s.peer_key_updates() != c.key_updates() ||
        c.peer_key_updates() != s.key_updates() || c.key_update_requests() != 0 ||
        s.key_update_requests() != 0) {
        fail_msg("key updates %s", g->text.c_str());
    }
}

// A peer that renews nothing (the original enftun, TLS 1.3 all the same):
// past four thresholds of its records, it is asked to; its answer renews
// its sending key.
void test_a_peer_that_renews_nothing_is_asked_to(void**) {
    fill_both_ways(2000);
    int fds[2];
    socket_pair(fds);
    TlsContext& c = make_ctx(g->client_ctx, Role::Client, g_pki->client);
    TlsContext& s = make_ctx(g->server_ctx, Role::Server, g_pki->router);
    c.set_key_update_records(8);
    s.set_key_update_records(std::uint64_t{1} << 40); // never, here
    make_link(g->client, c, fds[0], {});
    make_link(g->server, s, fds[1], {});
    run_until_all_received("all frames both ways, the client asking for key updates");
    assert_false(g->client.down.has_value());
    assert_false(g->server.down.has_value());
    const TlsStream& cs = g->client.link->stream();
    const TlsStream& ss = g->server.link->stream();
    g->text = key_update_counts();
    // The server makes none of its own; OpenSSL answers each request with
    // the server's next write (the last may still be on its way when all
    // frames are in, or not sent: nothing more to write).
    if (cs.key_update_requests() < 2 || ss.peer_key_updates() != cs.key_updates() ||
        ss.key_updates() > cs.key_update_requests() ||
        ss.key_updates() + 1 < cs.key_update_requests() ||
        cs.peer_key_updates() != ss.key_updates()) {
        fail_msg("key updates %s", g->text.c_str());
    }
}

// At the default threshold nothing is renewed in a short exchange.
void test_keys_kept_below_the_threshold(void**) {
    fill_both_ways(200);
    start_renewing_pair(enftun::tls::kKeyUpdateRecords);
    run_until_all_received("all frames both ways");
    g->text = key_update_counts();
    if (g->client.link->stream().key_updates() + g->server.link->stream().key_updates() +
            g->client.link->stream().peer_key_updates() +
            g->server.link->stream().peer_key_updates() !=
        0) {
        fail_msg("key updates %s", g->text.c_str());
    }
}

// TLS 1.2 has no key update (and renegotiation is off): at twice the
// threshold the session ends, saying why, so the reconnection makes new keys.
void test_tls12_session_ends_at_its_key_limit(void**) {
    for (std::uint16_t i = 0; i < 2000; ++i) {
        g->client.to_send.push_back(echo(1400, i));
    }
    start_renewing_pair(4, TLS1_2_VERSION);
    g->watchdog->run_until([] { return g->client.down.has_value(); }, "the client link down");
    assert_reason(g->client, "TLS 1.2 cannot renew them: reconnect");
    assert_true(g->client.link->stream().version_name() == "TLSv1.2");
    assert_true(g->server.frames.size() < g->client.to_send.size());
    assert_int_equal(g->client.link->stream().key_updates(), 0);
}

void test_frames_with_idle_buffer_release(void**) {
    // The router's setting: buffers are freed whenever they run empty.
    TlsLink::Options opts;
    opts.release_idle_buffers = true;
    exchange_many_frames(opts);
    assert_false(g->client.link->writer().has_storage());
    assert_false(g->server.link->writer().has_storage());
}

// The client's setting: buffers stay while busy, and release_buffers()
// frees them once the link is idle (link/idle_trim.hpp); both ways
// still work afterwards, the record buffers coming back with OpenSSL.
void test_release_buffers_on_an_idle_link(void**) {
    exchange_many_frames({});
    assert_true(g->client.link->writer().has_storage());
    assert_true(g->server.link->writer().has_storage());
    g->client.link->release_buffers();
    g->server.link->release_buffers();
    assert_false(g->client.link->writer().has_storage());
    assert_false(g->server.link->writer().has_storage());
    for (std::uint16_t i = 0; i < 50; ++i) {
        g->client.to_send.push_back(echo(1400, i));
        g->server.to_send.push_back(echo(700, i));
    }
    g->client.pump();
    g->server.pump();
    run_until_all_received("frames both ways after the release");
    assert_false(g->client.down.has_value());
    assert_false(g->server.down.has_value());
}

// The owner may flush on its own (the client's heartbeat does: append a
// probe, flush) while the writer is blocked. When that flush is the one
// that empties the writer, on_send_drained() must still come, or an owner
// that stopped feeding the writer (the client pauses its TUN) waits for
// ever while the link stays up. An idle handle flushes the client's link
// before every poll, so such flushes take the writer's bytes first.
void test_owner_flush_that_empties_the_writer_still_signals_drained(void**) {
    for (std::uint16_t i = 0; i < 2000; ++i) {
        g->client.to_send.push_back(echo(1400, i));
    }
    start_pair(g_pki->client);
    g->idle.emplace(*g->loop, [] {
        if (g->client.link && g->client.link->up()) {
            g->client.link->flush();
        }
    });
    g->idle->start();
    g->watchdog->run_until([] { return g->server.frames.size() == g->client.to_send.size(); },
                           "every frame, the client resumed by on_send_drained()");
    g->idle->stop();
    assert_received(g->server, g->client);
    assert_true(g->client.drained > 0);
    assert_false(g->client.down.has_value());
}

// A flush the owner makes that fails (here: our side of the socket shut for
// writing, so the write gets EPIPE) returns false and leaves the link dead
// but whole: on_link_down() comes later, from the link's own callback, never
// from inside the owner's call, which can go on using the writer it holds.
void fail_client_writes() {
    std::signal(SIGPIPE, SIG_IGN); // as the daemons do
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    assert_int_equal(::shutdown(g->client.link->stream().fd(), SHUT_WR), 0);
    assert_true(g->client.link->writer().append_frame(echo(100, 1)));
}

void test_failing_flush_reports_down_later(void**) {
    fail_client_writes();
    assert_false(g->client.link->flush());
    assert_int_equal(g->client.downs, 0); // not from inside flush()
    assert_true(g->client.link->dead());
    assert_false(g->client.link->writer().empty()); // still there to look at
    assert_false(g->client.link->flush());          // dead: no second report
    assert_int_equal(g->client.downs, 0);
    g->watchdog->run_until([] { return g->client.down.has_value(); }, "the client's link down");
    assert_reason(g->client, "TLS write failed");
}

// shutdown() after a failed flush: the owner closed the link itself, so the
// pending report is dropped ("no callbacks follow").
void test_shutdown_after_failing_flush_reports_nothing(void**) {
    fail_client_writes();
    assert_false(g->client.link->flush());
    g->client.link->shutdown();
    g->watchdog->run_until([] { return g->server.down.has_value(); }, "the server's link down");
    g->server.link->shutdown();
    g->watchdog->run_dry();
    assert_int_equal(g->client.downs, 0);
}

// TlsStream::socket_drained, which lets TlsLink skip the read that would
// only return EAGAIN: true after a read that emptied the socket, false
// after one that left bytes in it (more than OpenSSL's read-ahead buffer).
// The peer's post-handshake message split over two records (a session
// ticket longer than its max_send_fragment, here, or a hostile peer) leaves
// OpenSSL reading that message, SSL_in_init, until the second record comes.
// A key update due then cannot be made, but the write must go on as without
// one (OpenSSL waits to read): a WantWrite while the socket is writable
// would have the link poll for writable, be woken at once, and spin.
int big_ticket(SSL* ssl, void*) {
    static const std::uint8_t appdata[2000] = {};
    return SSL_SESSION_set1_ticket_appdata(SSL_get_session(ssl), appdata, sizeof appdata);
}

void test_a_renewal_due_while_the_peer_is_mid_message_does_not_spin(void**) {
    int fds[2];
    socket_pair(fds);
    TlsContext& c = make_ctx(g->client_ctx, Role::Client, g_pki->client);
    c.set_key_update_records(1); // due after the first write
    auto made = TlsStream::create(c, UniqueFd(fds[0]));
    assert_true(made.has_value());
    TlsStream& client = g->client_stream.emplace(std::move(*made));
    g->raw = UniqueFd(fds[1]);
    // The server: plain OpenSSL over memory BIOs, its bytes carried by hand.
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> sctx(SSL_CTX_new(TLS_server_method()),
                                                           SSL_CTX_free);
    assert_non_null(sctx.get());
    assert_int_equal(
        SSL_CTX_use_certificate_chain_file(sctx.get(), g_pki->router.cert_file.c_str()), 1);
    assert_int_equal(
        SSL_CTX_use_PrivateKey_file(sctx.get(), g_pki->router.key_file.c_str(), SSL_FILETYPE_PEM),
        1);
    SSL_CTX_set_min_proto_version(sctx.get(), TLS1_3_VERSION);
    SSL_CTX_set_session_ticket_cb(sctx.get(), big_ticket, nullptr, nullptr);
    std::unique_ptr<SSL, decltype(&SSL_free)> server(SSL_new(sctx.get()), SSL_free);
    assert_non_null(server.get());
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(server.get(), in, out); // owned by the SSL now
    SSL_set_accept_state(server.get());
    assert_int_equal(SSL_set_max_send_fragment(server.get(), 512), 1);

    ByteVec buf(64 * 1024);
    ByteVec held; // the server's bytes once its handshake is done: tickets
    bool c_done = false;
    bool s_done = false;
    for (int i = 0; i < 100 && !(c_done && s_done); ++i) {
        c_done = c_done || client.handshake().status == enftun::tls::Io::Done;
        const ssize_t n = ::read(g->raw.get(), buf.data(), buf.size());
        if (n > 0) {
            BIO_write(in, buf.data(), static_cast<int>(n));
        }
        s_done = s_done || SSL_do_handshake(server.get()) == 1;
        int m = 0;
        while ((m = BIO_read(out, buf.data(), static_cast<int>(buf.size()))) > 0) {
            if (s_done) {
                held.insert(held.end(), buf.begin(), buf.begin() + m);
            } else {
                assert_int_equal(::write(g->raw.get(), buf.data(), static_cast<std::size_t>(m)), m);
            }
        }
    }
    assert_true(c_done && s_done);
    assert_true(held.size() > 5);
    const std::size_t first = 5 + (std::size_t{held[3]} << 8 | held[4]);
    assert_true(held.size() > first); // the ticket took more than one record

    const ByteVec data(100, 0x42);
    assert_int_equal(client.write(data).status, enftun::tls::Io::Done); // now a renewal is due
    assert_int_equal(::write(g->raw.get(), held.data(), first), static_cast<ssize_t>(first));
    assert_int_equal(client.read(buf).status, enftun::tls::Io::WantRead); // mid-ticket
    pollfd p{client.fd(), POLLOUT, 0};
    assert_int_equal(poll(&p, 1, 0), 1); // writable: WantWrite would spin
    const auto r = client.write(data);
    assert_int_not_equal(r.status, enftun::tls::Io::WantWrite);
    assert_int_not_equal(r.status, enftun::tls::Io::Error);

    // The rest of the ticket: the renewal comes with the next write.
    assert_int_equal(::write(g->raw.get(), held.data() + first, held.size() - first),
                     static_cast<ssize_t>(held.size() - first));
    (void)client.read(buf);
    for (int i = 0; i < 4 && client.key_updates() == 0; ++i) {
        assert_int_equal(client.write(data).status, enftun::tls::Io::Done);
    }
    assert_int_equal(client.key_updates(), 1);
}

void test_socket_drained_tells_an_empty_socket(void**) {
    start_stream_pair(g_pki->client);
    TlsStream& client = *g->client_stream;
    TlsStream& server = *g->server_stream;
    bool c_done = false;
    bool s_done = false;
    for (int i = 0; i < 100 && !(c_done && s_done); ++i) {
        c_done = c_done || client.handshake().status == enftun::tls::Io::Done;
        s_done = s_done || server.handshake().status == enftun::tls::Io::Done;
    }
    assert_true(c_done && s_done);
    ByteVec buf(64 * 1024);
    // Whatever the handshake left (TLS 1.3 session tickets) is read first.
    while (client.read(buf).status == enftun::tls::Io::Done) {
    }

    const ByteVec small(100, 0x42);
    assert_int_equal(server.write(small).n, small.size());
    auto r = client.read(buf);
    assert_int_equal(r.status, enftun::tls::Io::Done);
    assert_int_equal(r.n, small.size());
    assert_true(client.socket_drained());
    assert_false(client.pending());

    // Fill the socket with far more than the read-ahead buffer takes.
    const ByteVec chunk(16384, 0x17);
    std::size_t queued = 0;
    while (queued < 512 * 1024 && server.write(chunk).status == enftun::tls::Io::Done) {
        queued += chunk.size();
    }
    assert_true(queued >= 160 * 1024);
    r = client.read(enftun::MutBytes(buf.data(), 1000));
    assert_int_equal(r.status, enftun::tls::Io::Done);
    assert_false(client.socket_drained());
}

// A TLS 1.3 client finishes its side before the server has checked its
// certificate; the server refuses it (a fatal alert) and closes, and the
// client's first write fails (EPIPE). The reason given must be the
// server's alert, still unread in the socket, not "Broken pipe" (the
// revoke_test race: "certificate revoked" lost to EPIPE under load).
void test_failed_write_reports_the_peers_alert(void**) {
    std::signal(SIGPIPE, SIG_IGN); // as the daemons do
    start_stream_pair(g_pki->rogue_client);
    TlsStream& client = *g->client_stream;
    TlsStream& server = *g->server_stream;
    bool c_done = false;
    bool s_failed = false;
    for (int i = 0; i < 100 && !(c_done && s_failed); ++i) {
        c_done = c_done || client.handshake().status == enftun::tls::Io::Done;
        s_failed = s_failed || server.handshake().status == enftun::tls::Io::Error;
    }
    assert_true(c_done && s_failed);
    g->server_stream.reset(); // the server closes its socket after the alert
    const ByteVec data(1000, 0x11);
    assert_int_equal(client.write(data).status, enftun::tls::Io::Error);
    g->text = client.error();
    print_message("client's reason: %s\n", g->text.c_str());
    assert_non_null(std::strstr(g->text.c_str(), "alert"));
    assert_null(std::strstr(g->text.c_str(), "Broken pipe"));
}

void test_batch_larger_than_a_record(void**) {
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    // 40 frames of 1000 bytes queued before one flush: ~40 KiB, so frames
    // straddle the 16 KiB TLS records.
    for (std::uint16_t i = 0; i < 40; ++i) {
        g->client.to_send.push_back(echo(952, i));
        assert_true(g->client.link->writer().append_frame(g->client.to_send.back()));
    }
    g->client.next = g->client.to_send.size();
    assert_true(g->client.link->writer().size() > 2 * 16384);
    g->client.link->flush();
    g->watchdog->run_until([] { return g->server.frames.size() == g->client.to_send.size(); },
                           "the batch to arrive");
    assert_received(g->server, g->client);
    assert_int_equal(g->client.link->bytes_sent(), 40 * 1002);
    assert_int_equal(g->server.link->bytes_received(), 40 * 1002);
}

void test_rogue_client_cert_fails_both_sides(void**) {
    start_pair(g_pki->rogue_client);
    g->watchdog->run_until([] { return g->client.down && g->server.down; }, "both links down");
    assert_int_equal(g->server.ups, 0);
    assert_false(g->server.link->up());
    assert_reason(g->server, "handshake");
    // With TLS 1.3 the client may finish its side before the server's alert
    // arrives; either way its link must go down.
    assert_true(g->client.link->dead());
    assert_int_equal(g->client.downs, 1);
}

// identity.key_file that is some other key (here the router's): refused when
// the context is built, naming the real problem, for both roles.
void test_mismatched_key_is_refused(void**) {
    for (Role role : {Role::Client, Role::Server}) {
        Credentials creds = g_pki->client;
        creds.key_file = g_pki->router.key_file;
        auto ctx = TlsContext::create(role, creds);
        assert_false(ctx.has_value());
        assert_string_equal(ctx.error().what, "private key does not match certificate");
    }
}

void test_client_rejects_unknown_router(void**) {
    // The client trusts only the other CA, which did not sign the router.
    Credentials creds = g_pki->client;
    creds.ca_cert_file = g_pki->dir + "/other-ca.crt";
    start_pair(creds);
    g->watchdog->run_until([] { return g->client.down && g->server.down; }, "both links down");
    assert_int_equal(g->client.ups, 0);
    assert_int_equal(g->server.ups, 0);
    assert_reason(g->client, "handshake");
    assert_reason(g->server, "handshake");
}

// Once both are up, the client writes `raw` straight into the TLS stream
// (bypassing its FrameWriter); the server must deliver the frames before the
// bad one, then report a protocol error and deliver nothing more.
void expect_protocol_error_after(const ByteVec& good, const ByteVec& bad) {
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    ByteVec raw = framed(good);
    raw.insert(raw.end(), bad.begin(), bad.end());
    ByteVec after = framed(echo(10, 99)); // a valid frame after the bad one
    raw.insert(raw.end(), after.begin(), after.end());
    auto w = g->client.link->stream().write(raw);
    assert_int_equal(static_cast<int>(w.status), static_cast<int>(enftun::tls::Io::Done));
    assert_int_equal(w.n, raw.size());
    g->watchdog->run_until([] { return g->server.down.has_value(); }, "server link down");
    assert_reason(g->server, "protocol error");
    assert_int_equal(g->server.frames.size(), 1);
    assert_true(g->server.frames[0] == good);
    assert_true(g->server.link->dead());
    assert_true(g->server.link->protocol_error()); // for the owner's counter
}

void test_zero_length_frame_is_protocol_error(void**) {
    expect_protocol_error_after(echo(20, 1), ByteVec{0x00, 0x00});
}

void test_oversized_frame_is_protocol_error(void**) {
    // 1501 > max_payload (1500): refused on the header alone.
    expect_protocol_error_after(echo(20, 1), ByteVec{0x05, 0xdd, 0x60});
}

void test_non_ip_frame_is_protocol_error(void**) {
    ByteVec not_ip = echo(20, 2);
    not_ip[0] = 0x50; // version 5
    expect_protocol_error_after(echo(20, 1), framed(not_ip));
}

void test_shutdown_sends_close_notify(void**) {
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    g->server.link->shutdown();
    assert_true(g->server.link->dead());
    g->watchdog->run_until([] { return g->client.down.has_value(); }, "client link down");
    assert_reason(g->client, "close_notify");
    assert_false(g->client.link->protocol_error());
    assert_false(g->server.down.has_value()); // shutdown() calls nothing back
}

void test_eof_without_close_notify(void**) {
    start_pair(g_pki->client);
    g->watchdog->run_until(both_up, "both links up");
    // The router's TCP stream ends with no close_notify (a crash, a reset).
    assert_int_equal(::shutdown(g->server.link->stream().fd(), SHUT_WR), 0);
    g->watchdog->run_until([] { return g->client.down.has_value(); }, "client link down");
    assert_true(g->client.down->find("close_notify") == std::string::npos);
    // The one line the owner logs says why, with OpenSSL's reason after ours.
    assert_reason(g->client, "TLS read failed: ");
    assert_true(g->client.down->size() > std::strlen("TLS read failed: "));
}

void test_handshake_timeout_server(void**) {
    int fds[2];
    socket_pair(fds);
    g->raw.reset(fds[0]); // a "client" that connects and never speaks
    TlsLink::Options opts;
    opts.handshake_timeout_ms = 50;
    make_link(g->server, make_ctx(g->server_ctx, Role::Server, g_pki->router), fds[1], opts);
    g->watchdog->run_until([] { return g->server.down.has_value(); }, "server handshake timeout");
    assert_reason(g->server, "timed out");
    assert_int_equal(g->server.ups, 0);
}

void test_handshake_timeout_client(void**) {
    int fds[2];
    socket_pair(fds);
    g->raw.reset(fds[1]); // a "router" that accepts and never answers
    TlsLink::Options opts;
    opts.handshake_timeout_ms = 50;
    make_link(g->client, make_ctx(g->client_ctx, Role::Client, g_pki->client), fds[0], opts);
    g->watchdog->run_until([] { return g->client.down.has_value(); }, "client handshake timeout");
    assert_reason(g->client, "timed out");
    // It did speak first: a ClientHello (TLS record type 22) is waiting.
    std::uint8_t b = 0;
    assert_int_equal(::recv(g->raw.get(), &b, 1, 0), 1);
    assert_int_equal(b, 22);
}

void test_garbage_fails_handshake(void**) {
    int fds[2];
    socket_pair(fds);
    g->raw.reset(fds[0]);
    const char req[] = "GET / HTTP/1.1\r\nHost: router\r\n\r\n";
    assert_int_equal(::send(g->raw.get(), req, sizeof req - 1, 0), sizeof req - 1);
    make_link(g->server, make_ctx(g->server_ctx, Role::Server, g_pki->router), fds[1], {});
    g->watchdog->run_until([] { return g->server.down.has_value(); }, "server link down");
    assert_reason(g->server, "handshake failed");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_and_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_version_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_frame_split_for_the_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_both_ways_under_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_renewed_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_peer_that_renews_nothing_is_asked_to, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_kept_below_the_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls12_session_ends_at_its_key_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_with_idle_buffer_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_buffers_on_an_idle_link, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_owner_flush_that_empties_the_writer_still_signals_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_drained_tells_an_empty_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_renewal_due_while_the_peer_is_mid_message_does_not_spin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_reports_the_peers_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_larger_than_a_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rogue_client_cert_fails_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_key_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_rejects_unknown_router, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_frame_is_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frame_is_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_ip_frame_is_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_sends_close_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_flush_reports_down_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_after_failing_flush_reports_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_eof_without_close_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_fails_handshake, setup, teardown),
    };
    return cmocka_run_group_tests_name("tls_link", tests, group_setup, group_teardown);
}
