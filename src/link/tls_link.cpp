#include "enftun/link/tls_link.hpp"

#include "enftun/link/super_packet.hpp"
#include "enftun/log/log.hpp"

#include <sys/socket.h>

#include <cstring>

namespace enftun::tunnel {

namespace {
// A TLS record carries at most 16 KiB of plaintext (RFC 8446 §5.1); handing
// SSL_write one record's worth at a time keeps records full.
constexpr std::size_t kMaxRecord = 16384;
// Reads per readable event before yielding to the other direction.
constexpr int kMaxReadsPerEvent = 16;
// Receive buffer: a full record plus one partial frame of up to 64 KiB.
std::size_t reader_capacity(std::size_t max_payload) {
    return kMaxRecord + framing::kFrameHeaderLen + max_payload;
}
} // namespace

TlsLink::TlsLink(loop::Loop& loop, tls::TlsStream stream, Handler& handler, Options opts)
    : stream_(std::move(stream)), handler_(handler), opts_(opts),
      reader_(opts.max_payload, reader_capacity(opts.max_payload)), writer_(opts.write_capacity),
      poll_(loop, stream_.fd(), [this](int status, int events) { on_poll(status, events); }),
      handshake_timer_(loop, [this] { fail("TLS handshake timed out"); }),
      down_timer_(loop, [this] { report_down(); }) {
    handshake_timer_.start(opts_.handshake_timeout_ms);
    // The first poll event drives the handshake: callbacks never run from
    // inside the constructor, before the owner holds the link.
    want_write_ = true;
    update_poll();
}

void TlsLink::on_poll(int status, int events) {
    if (status < 0) {
        log_socket_error();
        // A peer that refused us sends its alert and closes; our reply to
        // its close can bring a reset (POLLERR) before we read the alert.
        if (up_ && stream_.read_peer_alert()) {
            fail_tls("socket error");
            return;
        }
        fail("socket error");
        return;
    }
    if (!up_) {
        drive_handshake();
        return;
    }
    if ((events & UV_READABLE) != 0) {
        on_readable();
    }
    if (!dead_ && (events & UV_WRITABLE) != 0) {
        if (!send_queued()) {
            report_down();
            return;
        }
        if (writer_.empty()) {
            drain_owed_ = false;
            want_write_ = false;
            update_poll();
            handler_.on_send_drained();
        }
    }
}

void TlsLink::drive_handshake() {
    tls::IoResult r{tls::Io::Error};
    {
        log::LimitScope limit(opts_.limit_handshake_logs);
        r = stream_.handshake();
    }
    switch (r.status) {
    case tls::Io::Done:
        up_ = true;
        handshake_timer_.stop();
        // PROTOCOL.md: ALPN fixed the version; nothing was framed before.
        version_ = stream_.protocol_version();
        if (version_ == 2) {
            reader_.set_version(2, kMaxRecord + framing::kMaxV2Frame);
            writer_.set_version(2);
        }
        want_write_ = false;
        update_poll();
        handler_.on_link_up();
        // With read-ahead (tls_context.cpp) the handshake's last read may
        // also have taken the peer's first records; no readable event will
        // announce bytes that already left the socket.
        if (!dead_ && stream_.pending()) {
            on_readable();
        }
        return;
    case tls::Io::WantRead:
        want_write_ = false;
        update_poll();
        return;
    case tls::Io::WantWrite:
        want_write_ = true;
        update_poll();
        return;
    case tls::Io::Closed:
        fail("TLS handshake failed: peer sent close_notify");
        return;
    case tls::Io::Error:
        // A policy refusal is in the stream's error(): one line, with its reason.
        fail_tls("TLS handshake failed");
        return;
    }
}

void TlsLink::on_readable() {
    const std::uint64_t packets_before = packets_rx_;
    for (int i = 0; !dead_; ++i) {
        if (i >= kMaxReadsPerEvent && !stream_.pending()) {
            break; // level-triggered poll brings us back for the rest
        }
        tls::IoResult r = stream_.read(reader_.writable());
        switch (r.status) {
        case tls::Io::Done:
            bytes_rx_ += r.n;
            reader_.commit(r.n);
            if (!drain_frames()) {
                return;
            }
            if (stream_.socket_drained() && !stream_.pending()) {
                break; // the next read would be EAGAIN: save the syscall
            }
            continue;
        case tls::Io::WantRead:
            break;
        case tls::Io::WantWrite:
            want_write_ = true;
            update_poll();
            break;
        case tls::Io::Closed:
            fail("peer closed the tunnel (close_notify)");
            return;
        case tls::Io::Error:
            fail_tls("TLS read failed");
            return;
        }
        break;
    }
    if (dead_) {
        return;
    }
    handler_.on_read_done(static_cast<std::size_t>(packets_rx_ - packets_before));
    // A write that stopped on WantRead (a TLS 1.2 renegotiation or a 1.3 key
    // update in flight) can only go on once we have read: resume it here.
    if (!dead_ && !writer_.empty() && !want_write_ && !send_queued()) {
        report_down();
        return;
    }
    if (!dead_ && opts_.release_idle_buffers) {
        reader_.release();
    }
}

bool TlsLink::drain_frames() {
    while (!dead_) {
        auto frame = reader_.next_frame();
        if (!frame) {
            // PROTOCOL.md: a malformed frame is a protocol error; close.
            // Rate-limited: a peer can reconnect and repeat it (router).
            ENFTUN_LOG_RATELIMITED(log::Level::Warn, "protocol error from peer: %s",
                                   frame.error().what);
            protocol_error_ = true;
            fail("protocol error");
            return false;
        }
        if (!frame->has_value()) {
            return true;
        }
        ++frames_rx_;
        const framing::FrameV2& f = **frame;
        packets_rx_ += f.gso ? framing::gso_segments(f.packet.size(), *f.gso) : 1;
        if (!f.gso) {
            handler_.on_frame(f.packet);
        } else if (!handler_.on_gso_frame(f.packet, *f.gso)) {
            split_to_handler(f.packet, *f.gso);
        }
    }
    return false;
}

// A super-packet the handler cannot take whole: its segments, one
// on_frame() each (they fit: check_gso_packet bounded hdr_len + gso_size).
void TlsLink::split_to_handler(Bytes packet, const framing::GsoMeta& gso) {
    if (!segment_) {
        segment_ = std::make_unique_for_overwrite<std::uint8_t[]>(opts_.max_payload);
    }
    (void)for_each_segment(packet, gso, MutBytes(segment_.get(), opts_.max_payload),
                           [this](Bytes seg) {
                               handler_.on_frame(seg);
                               return !dead_;
                           });
}

bool TlsLink::flush() {
    if (dead_) {
        return false;
    }
    if (send_queued()) {
        return true;
    }
    // Dead now: the owner hears of it from the link's own callback, so the
    // call it is in finds the link (and its writer) where they were.
    down_timer_.start(0);
    return false;
}

bool TlsLink::send_queued() {
    if (dead_) {
        return false;
    }
    if (!up_) {
        return true;
    }
    while (!writer_.empty()) {
        tls::IoResult r = stream_.write(writer_.pending(kMaxRecord));
        switch (r.status) {
        case tls::Io::Done:
            bytes_tx_ += r.n;
            writer_.consume(r.n);
            continue;
        case tls::Io::WantWrite:
            drain_owed_ = true;
            want_write_ = true;
            update_poll();
            return true;
        case tls::Io::WantRead:
            drain_owed_ = true;
            return true; // we always watch readability; the read path resumes us
        case tls::Io::Closed:
        case tls::Io::Error:
            die_tls("TLS write failed");
            return false;
        }
    }
    // Empty. If a stalled flush came before, the owner may be waiting: keep
    // watching writability, which the socket now has, so that on_poll()
    // tells it at once, outside whatever call of the owner's we are in.
    if (drain_owed_ != want_write_) {
        want_write_ = drain_owed_;
        update_poll();
    }
    if (opts_.release_idle_buffers) {
        writer_.release();
    }
    return true;
}

void TlsLink::update_poll() {
    if (dead_) {
        return;
    }
    poll_.watch(UV_READABLE | (want_write_ ? UV_WRITABLE : 0));
}

void TlsLink::shutdown() {
    down_timer_.stop(); // a failure not yet reported stays unreported
    if (dead_) {
        return;
    }
    if (up_) {
        stream_.shutdown();
    }
    dead_ = true;
    poll_.watch(0);
    handshake_timer_.stop();
}

void TlsLink::release_buffers() {
    if (dead_ || !up_) {
        return;
    }
    reader_.release(); // each keeps its storage if it holds a partial frame
    writer_.release();
    stream_.free_buffers();
}

// libuv turns POLLERR into UV_EBADF, which says nothing; the socket's pending
// error does (ETIMEDOUT: TCP_USER_TIMEOUT or keepalive gave up, see
// conn/tcp_liveness.hpp; ECONNRESET; EHOSTUNREACH from ICMP).
void TlsLink::log_socket_error() {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(stream_.fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "tunnel socket error: %s", strerror(err));
    }
}

void TlsLink::die_tls(const char* reason) {
    std::string full = reason;
    if (!stream_.error().empty()) {
        full += ": " + stream_.error();
    }
    die(full.c_str());
}

void TlsLink::fail_tls(const char* reason) {
    if (!dead_) {
        die_tls(reason);
        report_down();
    }
}

void TlsLink::die(const char* reason) {
    if (dead_) {
        return;
    }
    dead_ = true;
    reason_ = reason;
    poll_.watch(0);
    handshake_timer_.stop();
}

void TlsLink::fail(const char* reason) {
    if (!dead_) {
        die(reason);
        report_down();
    }
}

void TlsLink::report_down() {
    handler_.on_link_down(reason_.c_str());
}

} // namespace enftun::tunnel
