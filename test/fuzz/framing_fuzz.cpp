// Fuzz target: parse_frame and FrameReader, differentially.
//
// Input: 4 control bytes, then the byte stream from the peer.
//   [0..1] max_payload = 1 + (be16 % 65535)
//   [2]    extra capacity = byte * 61 (0 = the tightest legal buffer)
//   [3]    seed for the read sizes fed to FrameReader
// Path A walks the stream with parse_frame; path B feeds it to a FrameReader
// in pseudo-random reads. Both must yield the same frames, then the same
// error or the same leftover partial frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "enftun/framing/frame.hpp"
#include "enftun/proto/ip.hpp"
#include "frame_walk.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

using Outcome = fuzz::FrameOutcome;

Outcome walk(Bytes stream, std::size_t max_payload) {
    return fuzz::walk_frames(
        stream, [&](Bytes rest) { return framing::parse_frame(rest, max_payload); },
        [&](const framing::Frame& fr, Bytes rest) {
            FUZZ_CHECK(fr.consumed == framing::kFrameHeaderLen + fr.payload.size());
            FUZZ_CHECK(fr.consumed <= rest.size());
            FUZZ_CHECK(fr.payload.size() >= 1 && fr.payload.size() <= max_payload);
            FUZZ_CHECK(proto::check_ip_packet(fr.payload));
        });
}

// Drains ready frames; each must equal the next frame of a fresh walk.
bool drain(framing::FrameReader& r, Bytes stream, std::size_t max_payload, std::size_t& off,
           Outcome& o) {
    for (;;) {
        auto f = r.next();
        if (!f) {
            o.error = f.error().what;
            return false;
        }
        if (!f->has_value()) {
            return true;
        }
        auto want = framing::parse_frame(stream.subspan(off), max_payload);
        FUZZ_CHECK(want && want->has_value());
        FUZZ_CHECK(std::ranges::equal(**f, (*want)->payload));
        off += (*want)->consumed;
        ++o.frames;
    }
}

Outcome feed(Bytes stream, std::size_t max_payload, std::size_t capacity, std::uint32_t seed) {
    Outcome o;
    framing::FrameReader r(max_payload, capacity);
    std::size_t pos = 0;
    std::size_t off = 0; // stream offset of the next undelivered frame
    while (pos < stream.size()) {
        const MutBytes room = r.writable();
        FUZZ_CHECK(!room.empty()); // drained readers always have room
        seed = seed * 1103515245u + 12345u;
        const std::size_t want = 1 + (seed >> 8) % 4096;
        const std::size_t n = std::min({want, room.size(), stream.size() - pos});
        std::memcpy(room.data(), stream.data() + pos, n);
        r.commit(n);
        pos += n;
        if (!drain(r, stream, max_payload, off, o)) {
            return o;
        }
    }
    o.leftover = r.buffered();
    FUZZ_CHECK(o.leftover == stream.size() - off);
    r.release();
    FUZZ_CHECK(r.has_storage() == (o.leftover != 0));
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) {
        return 0;
    }
    const std::size_t max_payload = 1 + ((std::size_t{data[0]} << 8 | data[1]) % 65535);
    const std::size_t capacity = framing::kFrameHeaderLen + max_payload + data[2] * 61u;
    const Bytes stream(data + 4, size - 4);
    const Outcome a = walk(stream, max_payload);
    const Outcome b = feed(stream, max_payload, capacity, data[3]);
    fuzz::expect_same_outcome(a, b);
    return 0;
}
