// Unit tests for loop/graveyard: objects buried from inside a callback (here
// a timer's, as a link's would be) live on until that callback has returned,
// then die on the loop's next turn, in burial order; one burial from a
// buried object's destructor lands in the next round; clear() destroys at
// once; what is buried when the graveyard goes dies with it. A real libuv
// loop under a watchdog (loop_helpers.hpp); callbacks only record.
#include "enftun/loop/graveyard.hpp"

#include <memory>
#include <optional>
#include <vector>

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::loop::Graveyard;
using enftun::loop::Loop;
using enftun::loop::Timer;

namespace {

struct Tomb;

struct State {
    std::optional<Loop> loop;
    std::optional<test_loop::Watchdog> watchdog;
    std::optional<Graveyard<Tomb>> graveyard;
    std::optional<Timer> timer;
    std::vector<int> destroyed; // ids, in order of destruction
    bool alive_after_bury = false;
};

// Records its destruction; one with `heir` buries a new Tomb as it dies.
struct Tomb {
    Tomb(State* s, int i) : state(s), id(i) {}
    Tomb(const Tomb&) = delete;
    Tomb& operator=(const Tomb&) = delete;
    State* state;
    int id;
    int heir = 0;
    ~Tomb() {
        state->destroyed.push_back(id);
        if (heir != 0) {
            state->graveyard->bury(std::make_unique<Tomb>(state, heir));
        }
    }
};

int setup(void** st) {
    auto* s = new State;
    s->loop.emplace();
    s->watchdog.emplace(*s->loop);
    s->graveyard.emplace(*s->loop);
    *st = s;
    return 0;
}

int teardown(void** st) {
    auto* s = static_cast<State*>(*st);
    s->timer.reset();
    s->graveyard.reset();
    s->watchdog.reset();
    s->loop.reset();
    delete s;
    return 0;
}

void test_buried_in_a_callback_dies_after_it(void** st) {
    auto* s = static_cast<State*>(*st);
    s->timer.emplace(*s->loop, [s] {
        auto first = std::make_unique<Tomb>(s, 1);
        Tomb* raw = first.get();
        s->graveyard->bury(std::move(first));
        s->graveyard->bury(std::make_unique<Tomb>(s, 2));
        s->graveyard->bury(nullptr); // ignored
        // Still inside the callback: the buried object is intact.
        s->alive_after_bury = s->destroyed.empty() && raw->id == 1;
    });
    s->timer->start(0);
    s->watchdog->run_dry();
    assert_true(s->alive_after_bury);
    assert_int_equal(s->destroyed.size(), 2);
    assert_int_equal(s->destroyed[0], 1);
    assert_int_equal(s->destroyed[1], 2);
    assert_int_equal(s->graveyard->size(), 0);
}

void test_burial_from_a_destructor_lands_in_next_round(void** st) {
    auto* s = static_cast<State*>(*st);
    auto parent = std::make_unique<Tomb>(s, 1);
    parent->heir = 7;
    s->graveyard->bury(std::move(parent));
    s->watchdog->run_dry();
    assert_int_equal(s->destroyed.size(), 2);
    assert_int_equal(s->destroyed[0], 1);
    assert_int_equal(s->destroyed[1], 7);
    assert_int_equal(s->graveyard->size(), 0);
}

void test_clear_destroys_now(void** st) {
    auto* s = static_cast<State*>(*st);
    s->graveyard->bury(std::make_unique<Tomb>(s, 3));
    assert_int_equal(s->graveyard->size(), 1);
    assert_true(s->destroyed.empty());
    s->graveyard->clear();
    assert_int_equal(s->destroyed.size(), 1);
    assert_int_equal(s->destroyed[0], 3);
    s->watchdog->run_dry(); // the armed timer finds nothing
    assert_int_equal(s->destroyed.size(), 1);
}

void test_destroyed_with_the_graveyard(void** st) {
    auto* s = static_cast<State*>(*st);
    s->graveyard->bury(std::make_unique<Tomb>(s, 4));
    s->graveyard.reset();
    assert_int_equal(s->destroyed.size(), 1);
    assert_int_equal(s->destroyed[0], 4);
    s->watchdog->run_dry(); // and its timer is closed: the loop runs dry
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buried_in_a_callback_dies_after_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burial_from_a_destructor_lands_in_next_round, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clear_destroys_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroyed_with_the_graveyard, setup, teardown),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
