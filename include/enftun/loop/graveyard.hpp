// Graveyard: destroys objects on the loop's next turn, outside the callback
// that retired them. A TlsLink (or the Session holding one) that dies reports
// it from one of its own libuv callbacks, where destroying it would free the
// handle whose callback is running: its owner buries it here instead, and a
// 0 ms timer destroys everything buried, in burial order.
//
// Lifetime: the Loop must outlive the graveyard; what is still buried when
// the graveyard is destroyed goes with it. bury() may be called from the
// destructor of a buried object: it lands in the next round.
#pragma once

#include "enftun/loop/loop.hpp"

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace enftun::loop {

template <typename T>
class Graveyard {
public:
    explicit Graveyard(Loop& loop) : timer_(loop, [this] { clear(); }) {}
    Graveyard(const Graveyard&) = delete;
    Graveyard& operator=(const Graveyard&) = delete;
    ~Graveyard() { clear(); }

    // Takes `dead` (null is ignored) and destroys it from the timer.
    void bury(std::unique_ptr<T> dead) {
        if (!dead) {
            return;
        }
        dead_.push_back(std::move(dead));
        if (!timer_.active()) {
            timer_.start(0);
        }
    }
    // Destroys everything buried, now: for a caller that is not inside a
    // callback of any of them (the owner's destructor).
    void clear() {
        auto batch = std::move(dead_);
        dead_.clear();
        batch.clear();
    }
    std::size_t size() const { return dead_.size(); }

private:
    std::vector<std::unique_ptr<T>> dead_;
    Timer timer_;
};

} // namespace enftun::loop
