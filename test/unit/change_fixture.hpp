// change_fixture.hpp: what config_change_test (client) and
// router_change_test share: the running config loaded from a test file's
// base text, a fresh one loaded from an edit of it, and the change
// classified between them, in a State that cmocka's setup and teardown own
// (a failed assert longjmps past the destructors of locals: test.hpp).
//
// Use: `using Fx = test_change::Fixture<Config, Change, from_string, kBase>;`
// then Fx::setup and Fx::teardown for each test, Fx::st(state) inside it.
#pragma once

#include <string>
#include <utility>

#include "enftun/config/values.hpp"
#include "enftun/util/result.hpp"

#include "test.hpp"

namespace test_change {

// load_client_config_from_string, load_router_config_from_string.
template <typename Config>
using FromString = enftun::Result<Config, enftun::config::ConfigError> (*)(
    const std::string& text, const std::string& base_dir, const std::string& source_name);

template <typename Config, typename Change, FromString<Config> kFromString,
          const std::string& kBase>
struct Fixture {
    struct State {
        Config running;
        Config fresh;
        Change change;
    };

    // text as if read from /etc/enftun; the test fails if it does not load.
    static Config load(const std::string& text) {
        auto c = kFromString(text, "/etc/enftun", "<string>");
        assert_true(c.has_value());
        return std::move(*c);
    }

    // kBase with `from` replaced by `to` (which must be there).
    static std::string edit(const std::string& from, const std::string& to) {
        std::string s = kBase;
        const auto at = s.find(from);
        assert_true(at != std::string::npos);
        return s.replace(at, from.size(), to);
    }

    // cmocka setup: a State running kBase.
    static int setup(void** state) {
        *state = new State{load(kBase), {}, {}};
        return 0;
    }

    static int teardown(void** state) {
        delete static_cast<State*>(*state);
        return 0;
    }

    static State& st(void** state) { return *static_cast<State*>(*state); }
};

} // namespace test_change
