// Framing (shared/PROTOCOL.md "Framing"): inside the TLS byte stream every
// frame is a 2-byte big-endian length followed by exactly one IP packet.
// This module owns the frame header encoder, a stateless frame parser and
// FrameReader, the incremental decoder behind a connection's receive side.
//
// Lifetime: spans returned by parse_frame point into the caller's buffer;
// spans returned by FrameReader::next() point into the reader's storage and
// stay valid until the next writable() or release().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "enftun/framing/frame_v2.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::framing {

constexpr std::size_t kFrameHeaderLen = 2;
constexpr std::size_t kMaxFramePayload = 65535;

// Writes the length prefix into at[0..2). `at` must hold 2 bytes and
// payload_len must be 1..65535 (a zero-length frame is a protocol error).
void write_frame_header(MutBytes at, std::uint16_t payload_len);

struct Frame {
    Bytes payload;        // one IP packet, inside the parsed buffer
    std::size_t consumed; // header + payload: where the next frame starts
};

// Parses the frame at the start of `buf`. Returns nullopt while `buf` holds
// less than one whole frame. Errors (protocol errors: close the connection):
//   Malformed "zero-length frame"           - length field is 0;
//   Malformed "frame longer than maximum"   - length field > max_payload;
//   Malformed "frame is not an IP packet"   - payload fails check_ip_packet.
// The length checks fire as soon as the header is in, so a peer cannot make
// us buffer 64 KiB of garbage before we notice.
[[nodiscard]] Result<std::optional<Frame>> parse_frame(Bytes buf, std::size_t max_payload);

// Receive buffer for one stream, in version 1 (the default) or version 2
// (frame_v2.hpp; set_version before the first byte). Use:
//   auto room = r.writable();            // read from TLS into room
//   r.commit(n);
//   while (auto f = r.next(); f && *f)   // deliver **f; error => close
// Storage (capacity bytes) is allocated on the first writable() and never
// grows; release() frees it while idle. Drain next() before writable():
// complete frames left unread keep their room.
class FrameReader {
public:
    // max_payload: the largest frame payload accepted (1..65535), e.g. the
    // MTU. capacity: buffer size, at least kFrameHeaderLen + max_payload so a
    // largest frame always fits; more lets one read take several frames.
    FrameReader(std::size_t max_payload, std::size_t capacity);

    // Switches the framing version (1 or 2) of a reader that holds nothing
    // yet; capacity: as in the constructor, for the largest frame of that
    // version (kMaxV2Frame for 2). Storage made for the old one is freed.
    void set_version(int version, std::size_t capacity);
    int version() const { return version_; }

    // Free space after the buffered bytes. Moves a leftover partial frame to
    // the front first when the space behind it could not hold a whole
    // largest frame. Empty only if complete frames were left undrained.
    MutBytes writable();
    // Marks n bytes of writable() as filled.
    void commit(std::size_t n);
    // The next whole frame's payload, nullopt if none is complete yet, or a
    // parse_frame error (the reader then stays stuck on that error).
    [[nodiscard]] Result<std::optional<Bytes>> next();
    // As next(), with the frame's GSO metadata (version 2) if it has any.
    [[nodiscard]] Result<std::optional<FrameV2>> next_frame();

    std::size_t buffered() const { return end_ - begin_; }
    std::size_t capacity() const { return capacity_; }
    bool has_storage() const { return buf_ != nullptr; }
    // Frees the storage if nothing is buffered (idle sessions); otherwise a
    // no-op, since a partial frame must survive.
    void release();

private:
    std::size_t max_frame() const;

    std::size_t max_payload_;
    std::size_t capacity_;
    int version_ = 1;
    // Not a vector: resize() would zero capacity_ bytes at every allocation,
    // and the router allocates again after each release().
    std::unique_ptr<std::uint8_t[]> buf_;
    std::size_t begin_ = 0; // first unparsed byte
    std::size_t end_ = 0;   // one past the last committed byte
};

} // namespace enftun::framing
