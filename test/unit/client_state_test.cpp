// Unit tests for client/client_state: the client's transition table, cell by
// cell (every state against every event), and the paths the client walks:
// a connect that fails and retries, a tunnel that comes up and is lost at
// each stage, and a stop from anywhere that nothing leaves.
#include "enftun/client/client_state.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "test.hpp"

using enftun::tunnel::client_transition;
using enftun::tunnel::ClientEvent;
using enftun::tunnel::ClientState;
using S = ClientState;
using E = ClientEvent;

namespace {

constexpr S kStates[] = {S::Connecting, S::Handshaking, S::Confirming,
                         S::Up,         S::BackingOff,  S::Stopped};
constexpr E kEvents[] = {E::Connected, E::ConnectFailed, E::TlsUp, E::FirstFrame,
                         E::LinkDown,  E::RetryDue,      E::Stop};

// The whole table, written out: nullopt where the event does not apply.
std::optional<S> expected(S from, E event) {
    if (from == S::Stopped) {
        return std::nullopt;
    }
    if (event == E::Stop) {
        return S::Stopped;
    }
    switch (from) {
    case S::Connecting:
        return event == E::Connected       ? std::optional(S::Handshaking)
               : event == E::ConnectFailed ? std::optional(S::BackingOff)
                                           : std::nullopt;
    case S::Handshaking:
        return event == E::TlsUp      ? std::optional(S::Confirming)
               : event == E::LinkDown ? std::optional(S::BackingOff)
                                      : std::nullopt;
    case S::Confirming:
        return event == E::FirstFrame ? std::optional(S::Up)
               : event == E::LinkDown ? std::optional(S::BackingOff)
                                      : std::nullopt;
    case S::Up:
        return event == E::LinkDown ? std::optional(S::BackingOff) : std::nullopt;
    case S::BackingOff:
        return event == E::RetryDue ? std::optional(S::Connecting) : std::nullopt;
    case S::Stopped:
        break;
    }
    return std::nullopt;
}

void test_every_cell_of_the_table(void**) {
    for (S from : kStates) {
        for (E event : kEvents) {
            auto got = client_transition(from, event);
            auto want = expected(from, event);
            if (got != want) {
                fail_msg("%s + %s: got %s, want %s", to_string(from), to_string(event),
                         got ? to_string(*got) : "(ignored)",
                         want ? to_string(*want) : "(ignored)");
            }
        }
    }
}

// Applies events in order, failing on one the table ignores.
S walk(S from, std::initializer_list<E> events) {
    for (E e : events) {
        auto next = client_transition(from, e);
        if (!next) {
            fail_msg("%s ignores %s", to_string(from), to_string(e));
        }
        from = *next;
    }
    return from;
}

void test_connect_fails_then_retries(void**) {
    assert_int_equal(walk(S::Connecting, {E::ConnectFailed}), S::BackingOff);
    assert_int_equal(walk(S::Connecting, {E::ConnectFailed, E::RetryDue, E::ConnectFailed,
                                          E::RetryDue, E::Connected}),
                     S::Handshaking);
}

void test_tunnel_comes_up_and_goes_down(void**) {
    assert_int_equal(walk(S::Connecting, {E::Connected, E::TlsUp, E::FirstFrame}), S::Up);
    // Lost at each stage: always back off, then a fresh attempt.
    assert_int_equal(walk(S::Connecting, {E::Connected, E::LinkDown}), S::BackingOff);
    assert_int_equal(walk(S::Connecting, {E::Connected, E::TlsUp, E::LinkDown}), S::BackingOff);
    assert_int_equal(walk(S::Up, {E::LinkDown, E::RetryDue}), S::Connecting);
}

void test_up_only_through_confirming(void**) {
    // The router may refuse us after our Finished: no frame, no Up.
    assert_false(client_transition(S::Handshaking, E::FirstFrame).has_value());
    assert_false(client_transition(S::Connecting, E::TlsUp).has_value());
    // No link, nothing to lose.
    assert_false(client_transition(S::Connecting, E::LinkDown).has_value());
    assert_false(client_transition(S::BackingOff, E::LinkDown).has_value());
}

void test_stopped_is_final(void**) {
    for (S from : kStates) {
        assert_int_equal(*client_transition(from == S::Stopped ? S::Up : from, E::Stop),
                         S::Stopped);
    }
    for (E event : kEvents) {
        assert_false(client_transition(S::Stopped, event).has_value());
    }
}

void test_names_are_distinct(void**) {
    for (S a : kStates) {
        for (S b : kStates) {
            assert_true((a == b) == (std::strcmp(to_string(a), to_string(b)) == 0));
            assert_true((a == b) == (std::strcmp(to_label(a), to_label(b)) == 0));
        }
        // A label is the log name with '_' for ' ' (status JSON, metrics).
        std::string label = to_string(a);
        std::replace(label.begin(), label.end(), ' ', '_');
        assert_string_equal(to_label(a), label.c_str());
    }
    assert_string_equal(to_string(S::BackingOff), "backing off");
    assert_string_equal(to_label(S::BackingOff), "backing_off");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell_of_the_table),
        cmocka_unit_test(test_connect_fails_then_retries),
        cmocka_unit_test(test_tunnel_comes_up_and_goes_down),
        cmocka_unit_test(test_up_only_through_confirming),
        cmocka_unit_test(test_stopped_is_final),
        cmocka_unit_test(test_names_are_distinct),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
