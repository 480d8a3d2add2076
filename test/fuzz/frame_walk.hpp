// What the frame fuzz targets (framing_fuzz, frame_v2_fuzz) make of one
// byte stream two ways: walked with the frame parser (walk_frames) and fed
// to a FrameReader in pieces; expect_same_outcome checks they agree.
#pragma once

#include <cstddef>
#include <string_view>

#include "enftun/util/bytes.hpp"
#include "fuzz_check.hpp"

namespace fuzz {

struct FrameOutcome {
    std::size_t frames = 0;
    const char* error = nullptr; // parse error text, or nullptr
    std::size_t leftover = 0;    // bytes of an incomplete last frame
};

// parse(rest) is a frame parser (Result of optional frame with .consumed);
// check(frame, rest) asserts what must hold of each frame it yields.
template <typename Parse, typename Check>
FrameOutcome walk_frames(enftun::Bytes stream, Parse parse, Check check) {
    FrameOutcome o;
    enftun::Bytes rest = stream;
    for (;;) {
        auto f = parse(rest);
        if (!f) {
            o.error = f.error().what;
            return o;
        }
        if (!f->has_value()) {
            o.leftover = rest.size();
            return o;
        }
        check(**f, rest);
        ++o.frames;
        rest = rest.subspan((*f)->consumed);
    }
}

// The same frames, then the same error or the same leftover.
inline void expect_same_outcome(const FrameOutcome& a, const FrameOutcome& b) {
    FUZZ_CHECK(a.frames == b.frames);
    FUZZ_CHECK((a.error == nullptr) == (b.error == nullptr));
    if (a.error != nullptr) {
        FUZZ_CHECK(std::string_view(a.error) == b.error);
    } else {
        FUZZ_CHECK(a.leftover == b.leftover);
    }
}

} // namespace fuzz
