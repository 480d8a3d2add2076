// PacketWriter: bounds-checked, append-only writer over a caller-owned buffer.
// Builders in proto/ write every header and payload through it, so running out
// of room is reported as Errc::NoSpace instead of truncating a packet.
//
// Ownership: the writer borrows `buf`; the buffer must outlive the writer and
// any span returned by written(). The writer allocates nothing.
//
// Error rule: a put that does not fit writes nothing and latches the error;
// every later put is ignored too, so the bytes written are always a prefix of
// the intended packet and never a packet with a hole in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::packet {

class PacketWriter {
public:
    explicit PacketWriter(MutBytes buf) : buf_(buf) {}

    void put_u8(std::uint8_t v) {
        if (reserve(1)) {
            store_u8(buf_, len_++, v);
        }
    }
    void put_be16(std::uint16_t v) {
        if (reserve(2)) {
            store_be16(buf_, len_, v);
            len_ += 2;
        }
    }
    void put_be32(std::uint32_t v) {
        if (reserve(4)) {
            store_be32(buf_, len_, v);
            len_ += 4;
        }
    }
    // memmove, not memcpy: a builder may copy bytes onto themselves when it
    // rewrites a packet in place (see proto::build_echo_reply).
    void put_bytes(Bytes b) {
        if (!b.empty() && reserve(b.size())) {
            std::memmove(buf_.data() + len_, b.data(), b.size());
            len_ += b.size();
        }
    }
    void put_zeros(std::size_t n) {
        if (n != 0 && reserve(n)) {
            std::memset(buf_.data() + len_, 0, n);
            len_ += n;
        }
    }

    // Bytes written so far (excludes any put that failed).
    std::size_t size() const { return len_; }
    // Room left for further puts (0 once an error is latched).
    std::size_t remaining() const { return ok_ ? buf_.size() - len_ : 0; }
    bool ok() const { return ok_; }
    // The written prefix, writable so a builder can patch a checksum into it.
    MutBytes written() { return buf_.first(len_); }

    // Bytes written, or Errc::NoSpace if any put ran out of room.
    [[nodiscard]] Result<std::size_t> finish() const {
        if (!ok_) {
            return make_error(Errc::NoSpace, "packet does not fit the buffer");
        }
        return len_;
    }

private:
    bool reserve(std::size_t n) {
        if (ok_ && n > buf_.size() - len_) {
            ok_ = false;
        }
        return ok_;
    }

    MutBytes buf_;
    std::size_t len_ = 0;
    bool ok_ = true;
};

} // namespace enftun::packet
