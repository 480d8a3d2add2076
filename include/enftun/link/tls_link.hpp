// TlsLink: one framed TLS connection, client or server side. It drives the
// nonblocking handshake (bounded by a timer), then moves frames both ways:
// reads as much as the socket offers (bounded per event), parses every
// complete frame and hands each packet to its Handler; sends what the owner
// queued in writer() in records of up to 16 KiB.
//
// Used by the client (one link at a time) and by the router (one per session).
//
// Lifetime: owns the TlsStream (and so the socket) and its poll and timers.
// The TlsContext and the Handler must outlive it. Every Handler call comes
// from a libuv callback of the link's own (its poll, its handshake timer, its
// 0 ms down timer), never from inside a call the owner made into the link:
// a call that fails (flush) returns false, marks the link dead and reports
// on_link_down() from the down timer, so the owner's call finds the link
// still there. on_link_down() is called at most once, and never after
// shutdown(); the handler must not destroy the link there, only schedule its
// destruction (loop::Graveyard).
//
//   Handshaking ──done──► Up ──error, EOF, close_notify, bad frame──► Down
//        └──────────timeout, handshake error──────────────────────────┘
#pragma once

#include "enftun/framing/frame.hpp"
#include "enftun/framing/frame_writer.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/tls/tls_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace enftun::tunnel {

class TlsLink {
public:
    class Handler {
    public:
        virtual void on_link_up() = 0;
        // One complete frame: a packet that passed framing::parse_frame.
        virtual void on_frame(Bytes packet) = 0;
        // Version 2: one GSO frame, its super-packet validated against gso
        // (framing::check_gso_packet). Return false to have the link cut it
        // into segments and call on_frame() with each (the default).
        virtual bool on_gso_frame(Bytes packet, const framing::GsoMeta& gso) {
            (void)packet;
            (void)gso;
            return false;
        }
        // The writer emptied after having been blocked on the socket, by
        // whichever flush emptied it (the link's own or the owner's). Called
        // from the link's poll callback, never from inside flush().
        virtual void on_send_drained() = 0;
        // A readable event has been handled: every frame of it, `frames` in
        // all, was delivered. A place to flush what on_frame() queued
        // elsewhere, once per batch (and for busy-polling to count events).
        // (A GSO frame counts as its segments: busy-polling must see a
        // super-packet as the bulk traffic it is.)
        virtual void on_read_done(std::size_t frames) { (void)frames; }
        // The link is dead; reason is for the log ("TLS read failed:
        // <OpenSSL's reason>"), valid during the call only: the one line
        // the owner logs is all that is logged of the failure.
        virtual void on_link_down(const char* reason) = 0;

    protected:
        ~Handler() = default;
    };

    struct Options {
        std::size_t max_payload = 1500;     // largest packet accepted in a frame
        std::size_t write_capacity = 65536; // bytes queued before backpressure
        std::uint64_t handshake_timeout_ms = 10000;
        bool release_idle_buffers = false; // free read/write buffers when empty
        // Rate-limit what the handshake logs (log::LimitScope): the router's
        // peers are unauthenticated until it ends, and may be a flood.
        bool limit_handshake_logs = false;
    };

    TlsLink(loop::Loop& loop, tls::TlsStream stream, Handler& handler, Options opts);
    TlsLink(const TlsLink&) = delete;
    TlsLink& operator=(const TlsLink&) = delete;

    bool up() const { return up_; }
    // The wire protocol version in force (PROTOCOL.md), known once up: 1 or 2.
    unsigned version() const { return version_; }
    bool dead() const { return dead_; }
    tls::TlsStream& stream() { return stream_; }
    framing::FrameWriter& writer() { return writer_; }

    // Sends what is queued, as far as the socket takes it now. Returns false
    // if the link is dead (now or before): the write failed, and
    // on_link_down() follows from the link's own down timer, not from here.
    bool flush();
    // Sends close_notify (best effort) and stops all I/O. No callbacks follow.
    void shutdown();
    // Frees the frame and TLS record buffers that hold nothing; each comes
    // back on its next use. For a link that has gone idle (link/idle_trim.hpp).
    void release_buffers();

    // Whether the link died of a protocol error (a malformed frame from the
    // peer), for the owner's counters (PROTOCOL.md: log, count, close).
    bool protocol_error() const { return protocol_error_; }
    std::uint64_t frames_received() const { return frames_rx_; }
    std::uint64_t bytes_received() const { return bytes_rx_; }
    std::uint64_t bytes_sent() const { return bytes_tx_; }

private:
    void on_poll(int status, int events);
    void drive_handshake();
    void on_readable();
    bool drain_frames();
    void update_poll();
    void log_socket_error();
    // Sends what is queued; on a write error marks the link dead and
    // returns false, leaving the report to the caller.
    bool send_queued();
    // Marks the link dead and stops its I/O; reason_ keeps why.
    void die(const char* reason);
    // die(), then on_link_down(): for the link's own callbacks only.
    void fail(const char* reason);
    // die() and fail() with the TlsStream's error appended to reason.
    void die_tls(const char* reason);
    void fail_tls(const char* reason);
    void report_down();
    void split_to_handler(Bytes packet, const framing::GsoMeta& gso);

    tls::TlsStream stream_;
    Handler& handler_; // outlives the link
    Options opts_;
    framing::FrameReader reader_;
    framing::FrameWriter writer_;
    loop::Poll poll_;
    loop::Timer handshake_timer_;
    loop::Timer down_timer_;                  // reports a failure found in an owner's call
    std::unique_ptr<std::uint8_t[]> segment_; // split_to_handler's buffer, on first use
    unsigned version_ = 1;
    bool up_ = false;
    bool dead_ = false;
    bool want_write_ = false;
    // A flush stopped with bytes left: the owner may have stopped feeding
    // the writer and waits for on_send_drained(), whichever flush empties it.
    bool drain_owed_ = false;
    bool protocol_error_ = false;
    std::uint64_t frames_rx_ = 0;
    std::uint64_t packets_rx_ = 0; // frames, a GSO frame counted as its segments
    std::uint64_t bytes_rx_ = 0;
    std::uint64_t bytes_tx_ = 0;
    std::string reason_; // why the link died, alive while on_link_down() runs
};

} // namespace enftun::tunnel
