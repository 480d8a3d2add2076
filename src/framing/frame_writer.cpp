#include "enftun/framing/frame_writer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace enftun::framing {

namespace {
constexpr std::size_t kHeaderLen = 2; // PROTOCOL.md: 16-bit big-endian length
constexpr std::size_t kMaxPayload = 65535;
// First allocation: two full TLS records' worth of frames.
constexpr std::size_t kInitialStorage = 32768;
} // namespace

bool FrameWriter::make_room(std::size_t need) {
    if (need > capacity_ || capacity_ - size() < need) {
        return false;
    }
    if (storage_ - end_ >= need) {
        return true;
    }
    if (storage_ - size() >= need) {
        // Slide unsent bytes to the front. A partly written TLS record is safe
        // to move: the context sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER.
        std::memmove(buf_.get(), buf_.get() + begin_, size());
        end_ -= begin_;
        begin_ = 0;
        return true;
    }
    grow(need);
    return true;
}

// grow: new storage (doubling, capped at the capacity) holding the unsent
// bytes at its front and at least `need` free bytes behind them.
void FrameWriter::grow(std::size_t need) {
    std::size_t n = std::max({kInitialStorage, storage_, last_storage_});
    while (n < size() + need) {
        n *= 2;
    }
    n = std::min(n, capacity_);
    auto fresh = std::make_unique_for_overwrite<std::uint8_t[]>(n);
    if (size() > 0) {
        std::memcpy(fresh.get(), buf_.get() + begin_, size());
    }
    end_ = size();
    begin_ = 0;
    buf_ = std::move(fresh);
    storage_ = n;
}

std::size_t FrameWriter::header_len() const {
    return version_ == 2 ? kV2HeaderLen : kHeaderLen;
}

MutBytes FrameWriter::reserve_frame(std::size_t max_payload) {
    max_payload = std::min(max_payload, kMaxPayload);
    if (!make_room(header_len() + max_payload)) {
        return {};
    }
    return MutBytes(buf_.get() + end_ + header_len(), max_payload);
}

void FrameWriter::commit_frame(std::size_t payload_len) {
    assert(payload_len > 0 && payload_len <= kMaxPayload);
    assert(end_ + header_len() + payload_len <= storage_);
    const MutBytes buf(buf_.get(), storage_);
    if (version_ == 2) {
        write_v2_header(buf.subspan(end_), kFrameTypePacket, payload_len);
    } else {
        store_be16(buf, end_, static_cast<std::uint16_t>(payload_len));
    }
    end_ += header_len() + payload_len;
}

MutBytes FrameWriter::reserve_gso_frame(std::size_t max_packet) {
    assert(version_ == 2);
    max_packet = std::min(max_packet, kMaxSuperPacket);
    if (!make_room(kV2HeaderLen + kGsoMetaLen + max_packet)) {
        return {};
    }
    return MutBytes(buf_.get() + end_ + kV2HeaderLen + kGsoMetaLen, max_packet);
}

void FrameWriter::commit_gso_frame(std::size_t packet_len, const GsoMeta& meta) {
    assert(version_ == 2 && packet_len > 0 && packet_len <= kMaxSuperPacket);
    assert(end_ + kV2HeaderLen + kGsoMetaLen + packet_len <= storage_);
    const MutBytes at(buf_.get() + end_, kV2HeaderLen + kGsoMetaLen);
    write_v2_header(at, kFrameTypeGso, kGsoMetaLen + packet_len);
    write_gso_meta(at.subspan(kV2HeaderLen), meta);
    end_ += kV2HeaderLen + kGsoMetaLen + packet_len;
}

bool FrameWriter::append_gso_frame(Bytes packet, const GsoMeta& meta) {
    if (packet.empty() || packet.size() > kMaxSuperPacket) {
        return false;
    }
    MutBytes room = reserve_gso_frame(packet.size());
    if (room.size() < packet.size()) {
        return false;
    }
    std::memcpy(room.data(), packet.data(), packet.size());
    commit_gso_frame(packet.size(), meta);
    return true;
}

bool FrameWriter::append_frame(Bytes payload) {
    if (payload.empty() || payload.size() > kMaxPayload) {
        return false;
    }
    MutBytes room = reserve_frame(payload.size());
    if (room.size() < payload.size()) {
        return false;
    }
    std::memcpy(room.data(), payload.data(), payload.size());
    commit_frame(payload.size());
    return true;
}

Bytes FrameWriter::pending(std::size_t max) const {
    return Bytes(buf_.get() + begin_, std::min(max, size()));
}

void FrameWriter::consume(std::size_t n) {
    assert(n <= size());
    begin_ += n;
    if (begin_ == end_) {
        begin_ = end_ = 0;
    }
}

void FrameWriter::release() {
    if (empty() && buf_) {
        buf_.reset();
        last_storage_ = storage_;
        storage_ = 0;
    }
}

} // namespace enftun::framing
