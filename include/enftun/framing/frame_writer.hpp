// FrameWriter: the send buffer of one TLS stream, holding length-prefixed
// frames back to back so a whole batch goes out in as few TLS records as
// possible (PROTOCOL.md: senders SHOULD pack several packets per record).
//
// Packets are read straight into the buffer behind a reserved 2-byte header
// (reserve_frame + commit_frame), so the client's TUN→TLS path copies nothing.
// Capacity is fixed; when a frame does not fit the caller stops reading its
// source (backpressure) or drops and counts (router fan-out). Storage is
// allocated on first use, grows by doubling (from 32 KiB) only as far as the
// queue really gets, and can be released when empty, which keeps idle
// router sessions small: one that only ever queues a ping reply never
// allocates its whole capacity.
#pragma once

#include "enftun/framing/frame_v2.hpp"
#include "enftun/util/bytes.hpp"

#include <cstddef>
#include <memory>

namespace enftun::framing {

class FrameWriter {
public:
    explicit FrameWriter(std::size_t capacity) : capacity_(capacity) {}

    // The framing version (1 or 2, frame_v2.hpp) of the frames written from
    // now on; set once, before the first frame.
    void set_version(int version) { version_ = version; }
    int version() const { return version_; }

    // Room for a payload of up to max_payload bytes, or an empty span if it
    // does not fit (even after compaction). Valid until the next call.
    MutBytes reserve_frame(std::size_t max_payload);
    // Writes the header for the payload_len bytes now in the reserved span.
    void commit_frame(std::size_t payload_len);
    // Copies payload in as one frame. False (nothing written) if it does not fit.
    bool append_frame(Bytes payload);

    // Version 2 only: room for a super-packet of up to max_packet bytes
    // behind a GSO frame's header and metadata (empty if it does not fit),
    // its commit, and a copying append. The caller has validated the
    // metadata (check_gso_packet).
    MutBytes reserve_gso_frame(std::size_t max_packet);
    void commit_gso_frame(std::size_t packet_len, const GsoMeta& meta);
    bool append_gso_frame(Bytes packet, const GsoMeta& meta);

    // Bytes waiting to be sent, at most max; the front of the queue.
    Bytes pending(std::size_t max) const;
    void consume(std::size_t n);
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }
    bool has_storage() const { return buf_ != nullptr; }
    // Frees the storage if nothing is queued.
    void release();

private:
    bool make_room(std::size_t need);
    void grow(std::size_t need);

    std::size_t header_len() const;

    std::size_t capacity_;
    int version_ = 1;
    // Not a vector: resize() would zero the storage at every allocation.
    std::unique_ptr<std::uint8_t[]> buf_;
    std::size_t storage_ = 0;
    // Size of the storage last released: a busy router session releases
    // after every flush, and starting again at this size spares it the
    // copies of growing 32 KiB → 64 KiB → ... for every batch.
    std::size_t last_storage_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace enftun::framing
