#include "enftun/framing/frame_writer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace enftun::framing {

namespace {
constexpr std::size_t kHeaderLen = 2; // PROTOCOL.md: 16-bit big-endian length
constexpr std::size_t kMaxPayload = 65535;
} // namespace

bool FrameWriter::make_room(std::size_t need) {
    if (need > capacity_) {
        return false;
    }
    if (buf_.empty()) {
        buf_.resize(capacity_);
    }
    if (capacity_ - end_ >= need) {
        return true;
    }
    if (capacity_ - size() < need) {
        return false;
    }
    // Slide unsent bytes to the front. A partly written TLS record is safe to
    // move: the context sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER.
    std::memmove(buf_.data(), buf_.data() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
    return true;
}

MutBytes FrameWriter::reserve_frame(std::size_t max_payload) {
    max_payload = std::min(max_payload, kMaxPayload);
    if (!make_room(kHeaderLen + max_payload)) {
        return {};
    }
    return MutBytes(buf_.data() + end_ + kHeaderLen, max_payload);
}

void FrameWriter::commit_frame(std::size_t payload_len) {
    assert(payload_len > 0 && payload_len <= kMaxPayload);
    assert(end_ + kHeaderLen + payload_len <= buf_.size());
    store_be16(buf_, end_, static_cast<std::uint16_t>(payload_len));
    end_ += kHeaderLen + payload_len;
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
    return Bytes(buf_.data() + begin_, std::min(max, size()));
}

void FrameWriter::consume(std::size_t n) {
    assert(n <= size());
    begin_ += n;
    if (begin_ == end_) {
        begin_ = end_ = 0;
    }
}

void FrameWriter::release() {
    if (empty()) {
        std::vector<std::uint8_t>().swap(buf_);
    }
}

} // namespace enftun::framing
