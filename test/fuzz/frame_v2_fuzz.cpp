// Fuzz target: the version-2 frame decoder (parse_frame_v2, check_gso_packet)
// and FrameReader in version 2, differentially.
//
// Input: 3 control bytes, then the byte stream from the peer.
//   [0..1] max_payload = 1 + (be16 % 65535)
//   [2]    seed for the read sizes fed to FrameReader
// Path A walks the stream with parse_frame_v2; path B feeds it to a
// version-2 FrameReader in pseudo-random reads. Both must yield the same
// frames, then the same error or the same leftover partial frame; every
// GSO frame yielded must pass check_gso_packet and stay inside its frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "enftun/framing/frame.hpp"
#include "enftun/framing/frame_v2.hpp"
#include "enftun/proto/ip.hpp"
#include "frame_walk.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

constexpr std::size_t kCapacity = 16384 + framing::kMaxV2Frame;

using Outcome = fuzz::FrameOutcome;

void check_frame(const framing::FrameV2& f, Bytes at, std::size_t max_payload) {
    FUZZ_CHECK(f.consumed <= at.size());
    FUZZ_CHECK(f.packet.data() >= at.data() &&
               f.packet.data() + f.packet.size() <= at.data() + f.consumed);
    if (f.gso) {
        FUZZ_CHECK(framing::check_gso_packet(f.packet, *f.gso, max_payload));
        FUZZ_CHECK(f.consumed == framing::kV2HeaderLen + framing::kGsoMetaLen + f.packet.size());
        FUZZ_CHECK(f.gso->gso_size >= 1 && f.gso->hdr_len + f.gso->gso_size <= max_payload);
        FUZZ_CHECK(f.packet.size() > f.gso->hdr_len);
    } else {
        FUZZ_CHECK(f.consumed == framing::kV2HeaderLen + f.packet.size());
        FUZZ_CHECK(f.packet.size() >= 1 && f.packet.size() <= max_payload);
        FUZZ_CHECK(proto::check_ip_packet(f.packet));
    }
}

Outcome walk(Bytes stream, std::size_t max_payload) {
    return fuzz::walk_frames(
        stream, [&](Bytes rest) { return framing::parse_frame_v2(rest, max_payload); },
        [&](const framing::FrameV2& f, Bytes rest) { check_frame(f, rest, max_payload); });
}

Outcome feed(Bytes stream, std::size_t max_payload, std::uint32_t seed) {
    Outcome o;
    framing::FrameReader r(max_payload, framing::kFrameHeaderLen + max_payload);
    r.set_version(2, kCapacity);
    std::size_t pos = 0;
    std::size_t off = 0;
    while (pos < stream.size()) {
        const MutBytes room = r.writable();
        FUZZ_CHECK(!room.empty());
        seed = seed * 1103515245u + 12345u;
        const std::size_t n =
            std::min({std::size_t{1} + (seed >> 8) % 20000, room.size(), stream.size() - pos});
        std::memcpy(room.data(), stream.data() + pos, n);
        r.commit(n);
        pos += n;
        for (;;) {
            auto f = r.next_frame();
            if (!f) {
                o.error = f.error().what;
                return o;
            }
            if (!f->has_value()) {
                break;
            }
            auto want = framing::parse_frame_v2(stream.subspan(off), max_payload);
            FUZZ_CHECK(want && want->has_value());
            FUZZ_CHECK(std::ranges::equal((*f)->packet, (*want)->packet));
            FUZZ_CHECK((*f)->gso.has_value() == (*want)->gso.has_value());
            off += (*want)->consumed;
            ++o.frames;
        }
    }
    o.leftover = r.buffered();
    FUZZ_CHECK(o.leftover == stream.size() - off);
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    const std::size_t max_payload = 1 + ((std::size_t{data[0]} << 8 | data[1]) % 65535);
    const Bytes stream(data + 3, size - 3);
    const Outcome a = walk(stream, max_payload);
    const Outcome b = feed(stream, max_payload, data[2]);
    fuzz::expect_same_outcome(a, b);
    return 0;
}
