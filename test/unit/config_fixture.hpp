// config_fixture.hpp: the fixture shared by config_test (client) and
// router_config_test: a mkdtemp folder for config files written by a test,
// the last load result, and checks that a load succeeded or failed with a
// given "<file>:<line>: <key>: ..." message. Fixture files under
// $TEST_DATA_DIR/config are found with data_path().
//
// Lifetime: setup() makes the folder and the Fixture, teardown() deletes
// both (and returns to the working directory setup() saw, for tests that
// chdir). Owning state lives in the Fixture, never in test locals: a failed
// assert longjmps past their destructors.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "enftun/config/values.hpp"
#include "enftun/util/result.hpp"

// Last: cmocka defines fail() and friends as macros, which would clash with
// std::basic_ios::fail() in <fstream>.
#include "test.hpp"

namespace test_config {

using enftun::config::ConfigError;

template <typename Config>
struct Fixture {
    using Loader = enftun::Result<Config, ConfigError> (*)(const std::string&);
    Loader load = nullptr;
    std::string dir;  // mkdtemp folder
    std::string path; // dir + "/" + the file name given to setup()
    std::string old_cwd;
    std::optional<enftun::Result<Config, ConfigError>> result;
    std::string text; // scratch for expected strings (outlives a failed assert)
};

// For cmocka setup functions: a Fixture with a fresh folder, in *state.
template <typename Config>
int setup(void** state, typename Fixture<Config>::Loader load, const char* file_name) {
    auto f = std::make_unique<Fixture<Config>>();
    char tmpl[] = "/tmp/enftun-config-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    f->load = load;
    f->dir = tmpl;
    f->path = f->dir + "/" + file_name;
    f->old_cwd = std::filesystem::current_path().string();
    *state = f.release();
    return 0;
}

template <typename Config>
int teardown(void** state) {
    std::unique_ptr<Fixture<Config>> f(static_cast<Fixture<Config>*>(*state));
    std::error_code ec;
    std::filesystem::current_path(f->old_cwd, ec);
    std::filesystem::remove_all(f->dir, ec);
    return 0;
}

inline std::string data_path(const char* rel) {
    const char* dir = std::getenv("TEST_DATA_DIR");
    return std::string(dir != nullptr ? dir : "test/data") + "/" + rel;
}

inline void write_file(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

template <typename Config>
const Config& expect_loaded(Fixture<Config>& f) {
    if (!*f.result) {
        print_error("unexpected error: %s\n", f.result->error().message.c_str());
        fail();
    }
    return **f.result;
}

template <typename Config>
const Config& load_file(Fixture<Config>& f, const std::string& path) {
    f.result = f.load(path);
    return expect_loaded(f);
}

template <typename Config>
const Config& load_text(Fixture<Config>& f, std::string_view text) {
    write_file(f.path, text);
    return load_file(f, f.path);
}

// Loads from path and checks the message is "<label>:<line>: <key>: ..."
// and contains fragment. line 0 means the message has no line part, an
// empty key a message without a key part.
template <typename Config>
void expect_error_at(Fixture<Config>& f, const std::string& path, const std::string& label,
                     int line, std::string_view key, std::string_view fragment, const char* name) {
    f.result = f.load(path);
    if (*f.result) {
        print_error("%s: loaded, expected an error\n", name);
        fail();
    }
    const std::string& msg = f.result->error().message;
    f.text = label + (line > 0 ? ":" + std::to_string(line) : "") + ": " + std::string(key) +
             (key.empty() ? "" : ": ");
    if (msg.rfind(f.text, 0) != 0 || msg.find(fragment) == std::string::npos) {
        print_error("%s:\n  got      \"%s\"\n  expected \"%s...%.*s...\"\n", name, msg.c_str(),
                    f.text.c_str(), static_cast<int>(fragment.size()), fragment.data());
        fail();
    }
}

// Writes text to f.path, loads it and checks the error as expect_error_at().
template <typename Config>
void expect_error(Fixture<Config>& f, std::string_view text, int line, std::string_view key,
                  std::string_view fragment, const char* name = "case") {
    write_file(f.path, text);
    expect_error_at(f, f.path, f.path, line, key, fragment, name);
}

struct ErrorCase {
    const char* name;
    const char* text;
    int line;
    const char* key;
    const char* fragment;
};

template <typename Config, std::size_t N>
void expect_errors(Fixture<Config>& f, const ErrorCase (&cases)[N]) {
    for (const auto& c : cases) {
        expect_error(f, c.text, c.line, c.key, c.fragment, c.name);
    }
}

} // namespace test_config
