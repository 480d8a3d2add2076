#include "enftun/framing/frame.hpp"

#include <cassert>
#include <cstring>

#include "enftun/proto/ip.hpp"

namespace enftun::framing {

void write_frame_header(MutBytes at, std::uint16_t payload_len) {
    assert(payload_len != 0);
    store_be16(at, 0, payload_len);
}

Result<std::optional<Frame>> parse_frame(Bytes buf, std::size_t max_payload) {
    if (buf.size() < kFrameHeaderLen) {
        return std::optional<Frame>{};
    }
    const std::size_t len = load_be16(buf, 0);
    if (len == 0) {
        return make_error(Errc::Malformed, "zero-length frame");
    }
    if (len > max_payload) {
        return make_error(Errc::Malformed, "frame longer than maximum");
    }
    if (buf.size() - kFrameHeaderLen < len) {
        return std::optional<Frame>{};
    }
    const Bytes payload = buf.subspan(kFrameHeaderLen, len);
    if (!proto::check_ip_packet(payload)) {
        return make_error(Errc::Malformed, "frame is not an IP packet");
    }
    return std::optional<Frame>{Frame{payload, kFrameHeaderLen + len}};
}

FrameReader::FrameReader(std::size_t max_payload, std::size_t capacity)
    : max_payload_(max_payload), capacity_(capacity) {
    assert(max_payload >= 1 && max_payload <= kMaxFramePayload);
    assert(capacity >= kFrameHeaderLen + max_payload);
}

std::size_t FrameReader::max_frame() const {
    return version_ == 2 ? kMaxV2Frame : kFrameHeaderLen + max_payload_;
}

void FrameReader::set_version(int version, std::size_t capacity) {
    assert(begin_ == end_ && (version == 1 || version == 2));
    version_ = version;
    capacity_ = capacity;
    assert(capacity_ >= max_frame());
    begin_ = end_ = 0;
    buf_.reset();
}

MutBytes FrameReader::writable() {
    if (!buf_) {
        buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(capacity_);
    }
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (begin_ > 0 && capacity_ - end_ < max_frame()) {
        // The leftover is shorter than a largest frame, so after the move
        // the room behind it can always complete it.
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return MutBytes(buf_.get() + end_, capacity_ - end_);
}

void FrameReader::commit(std::size_t n) {
    assert(n <= capacity_ - end_);
    end_ += n;
}

Result<std::optional<Bytes>> FrameReader::next() {
    auto frame = next_frame();
    if (!frame) {
        return frame.error();
    }
    if (!frame->has_value()) {
        return std::optional<Bytes>{};
    }
    return std::optional<Bytes>{(*frame)->packet};
}

Result<std::optional<FrameV2>> FrameReader::next_frame() {
    if (begin_ == end_) {
        return std::optional<FrameV2>{};
    }
    const Bytes buffered(buf_.get() + begin_, end_ - begin_);
    if (version_ == 2) {
        auto frame = parse_frame_v2(buffered, max_payload_);
        if (frame && frame->has_value()) {
            begin_ += (*frame)->consumed;
        }
        return frame;
    }
    auto frame = parse_frame(buffered, max_payload_);
    if (!frame) {
        return frame.error();
    }
    if (!frame->has_value()) {
        return std::optional<FrameV2>{};
    }
    begin_ += (*frame)->consumed;
    return std::optional<FrameV2>{FrameV2{(*frame)->payload, std::nullopt, (*frame)->consumed}};
}

void FrameReader::release() {
    if (begin_ != end_) {
        return;
    }
    begin_ = end_ = 0;
    buf_.reset();
}

} // namespace enftun::framing
