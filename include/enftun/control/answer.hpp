// Answer: what a daemon gives back for one control request (pure data).
// Either its whole text, or its first part and `more`, a source of slices
// the ControlServer asks for one at a time, each once the last is written
// and at most one per loop turn. A long answer (the router's `status json`
// at 10,000 sessions: 2.3 MB, ~60 ms to build in one piece) so holds the
// loop that forwards packets for one slice at a time, and only one slice is
// held in memory.
//
// `more` runs on the loop, between other events: what it lists may have
// changed since the first part was made, so it must look things up again
// by a stable key rather than keep pointers (router/session_slicer.hpp).
// It appends the next slice to `out` (given empty) and returns false with
// the last one; it is not called again after that, nor once the asker has
// gone. If it throws, the answer ends there (the connection is closed).
//
// size_hint: what the whole answer is expected to weigh. The answer budget
// (answer_budget.hpp) charges it when the answer starts, as it charges a
// whole answer, so that the next asker finds the bucket as a whole answer
// would have left it (rather than several long answers starting together
// while their slices are not yet charged); slices beyond it are charged as
// they come. A hint a little low is safe: the real size is charged in the
// end either way.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

namespace enftun::control {

struct Answer {
    Answer() = default;
    Answer(std::string whole) : text(std::move(whole)) {} // NOLINT: a whole answer converts
    Answer(const char* whole) : text(whole) {}            // NOLINT: so does a literal
    Answer(std::string first, std::function<bool(std::string& out)> then)
        : text(std::move(first)), more(std::move(then)) {}

    std::string text;                           // the whole answer, or its first part
    std::function<bool(std::string& out)> more; // the next slices; empty: none
    std::size_t size_hint = 0;                  // expected bytes in all (the budget's)
};

} // namespace enftun::control
