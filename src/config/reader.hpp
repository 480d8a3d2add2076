// Private to src/config: the libconfig document and a typed, checked reader
// over it, shared by the client and router loaders.
//
// Document owns one parsed config_t. libconfig settings point back at their
// config_t, so it lives on the heap (in a LibConfig) and never moves;
// destroying the Document runs config_destroy(). Loaders copy every value out
// before it goes.
//
// Reader keeps the first error ("latches" it) and turns later reads into
// no-ops that return nullopt, so a loader reads its keys in a straight line
// and checks once at the end, instead of one early return per key. A missing
// required key is kept aside and only reported if no value is rejected.
// Warnings (a key accepted but ignored) are collected in the order read, for the
// caller to log; they never make a load fail.
//
// Group is a view of one libconfig group that checks each value's type,
// range and syntax and reports failures with file, line and dotted key.
#pragma once

#include "enftun/config/values.hpp"
#include "enftun/util/result.hpp"

#include <libconfig.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace enftun::config::detail {

// busy_poll_us, client and router: past 10 ms a spin costs far more CPU than
// the wake-up (tens of µs) it saves.
inline constexpr std::uint32_t kMaxBusyPollUs = 10000;

// RAII for one config_t: config_init() on construction, config_destroy() on
// destruction. Not copyable or movable: settings hold its address.
struct LibConfig {
    LibConfig() { config_init(&cfg); }
    ~LibConfig() { config_destroy(&cfg); }
    LibConfig(const LibConfig&) = delete;
    LibConfig& operator=(const LibConfig&) = delete;

    config_t cfg{};
};

class Document {
public:
    // Parses text. label names the source in messages; base_dir resolves
    // @include and is where included files are reported from.
    // Errors: a NUL byte in text; an included file that is not a regular
    // file or too large (include_check.hpp); libconfig's syntax and include
    // errors.
    static Result<Document, ConfigError> parse(const std::string& text, std::string label,
                                               std::string base_dir);

    const config_setting_t* root() const { return config_root_setting(&lib_->cfg); }
    const std::string& base_dir() const { return base_dir_; }

    // "file:line" of a setting. A setting without a line (the root, or a
    // missing group) is placed at the end of the file, where a missing key
    // would be added.
    std::string where(const config_setting_t* setting) const;

private:
    Document() = default;

    // A file name as libconfig reports it (null: the top-level text).
    std::string file_name(const char* file) const;

    std::unique_ptr<LibConfig> lib_;
    std::string label_;
    std::string base_dir_;
    unsigned eof_line_ = 1;
};

// Reads the whole file at path.
// Errors: the file cannot be opened or read (message carries strerror), it
// is not a regular file (a FIFO would block, a device never end), or it is
// larger than 1 MiB.
Result<std::string, ConfigError> read_config_file(const std::string& path);

// The folder relative paths in the file at path are resolved against:
// absolute, so the daemon may change directory later.
std::string config_dir(const std::string& path);

// A whole config from text: parsed (source_name names it in messages,
// base_dir resolves relative paths and @include), then made a Config by
// load. Errors: Document::parse's, then load's.
template <typename Config>
Result<Config, ConfigError> load_text(const std::string& text, const std::string& base_dir,
                                      const std::string& source_name,
                                      Result<Config, ConfigError> (*load)(const Document&)) {
    auto doc = Document::parse(text, source_name, base_dir);
    if (!doc) {
        return doc.error();
    }
    return load(*doc);
}

// The same from the file at path, relative to its folder (config_dir).
// Errors: read_config_file's, then load_text's.
template <typename Config>
Result<Config, ConfigError> load_file(const std::string& path,
                                      Result<Config, ConfigError> (*load)(const Document&)) {
    auto text = read_config_file(path);
    if (!text) {
        return text.error();
    }
    return load_text(*text, config_dir(path), path, load);
}

class Reader {
public:
    // doc must outlive the Reader.
    explicit Reader(const Document& doc) : doc_(doc) {}

    bool ok() const { return !error_ && !missing_; }
    // True once a present value was rejected: later reads stop.
    bool rejected() const { return error_.has_value(); }
    // The first rejected value, else the first missing key: a bad value is
    // reported before a missing key, whatever order they were read in.
    const ConfigError& error() const { return error_ ? *error_ : *missing_; }
    const Document& doc() const { return doc_; }

    // Records "where: key: reason" unless a value was already rejected.
    void fail(const config_setting_t* at, std::string_view key, std::string_view reason);
    // Records "where: key: reason" for a missing key, unless an error of
    // any kind is already recorded.
    void fail_missing(const config_setting_t* at, std::string_view key, std::string_view reason);
    // Adds the warning "where: key: reason".
    void warn(const config_setting_t* at, std::string_view key, std::string_view reason);
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    const Document& doc_;
    std::optional<ConfigError> error_;
    std::optional<ConfigError> missing_;
    std::vector<std::string> warnings_;
};

// The text of a string setting ("" rather than null).
inline std::string_view string_value(const config_setting_t* s) {
    const char* v = config_setting_get_string(s);
    return v != nullptr ? std::string_view(v) : std::string_view();
}

// The value type T of the ValueResult<T> that a parser returns.
template <typename Parse>
using ParsedType = std::remove_cvref_t<
    decltype(std::declval<std::invoke_result_t<Parse, std::string_view>>().value())>;

// Names of the keys a group may hold, for loaders that keep them in a table.
using KeyNames = std::span<const std::string_view>;

class Group {
public:
    // The root group, whose members must all be in known.
    static Group root(Reader& reader, std::initializer_list<std::string_view> known);

    // The member group `name`, whose members must all be in known. A missing
    // group reads as empty, so every key in it takes its default.
    Group group(const char* name, std::initializer_list<std::string_view> known) const {
        return group_of(name, KeyNames(known.begin(), known.size()));
    }
    // The same with the names in a table.
    Group group_of(const char* name, KeyNames known) const;

    bool present() const { return setting_ != nullptr; }

    // Whether key is present (false once a value was rejected).
    bool has(const char* key) const { return member(key) != nullptr; }

    // The number of members of the group `key`, without checking their
    // names: nullopt if it is absent, or not a group (then the Reader holds
    // the error).
    std::optional<int> group_length(const char* key) const;

    // Typed reads: nullopt if the key is absent or the read failed (then the
    // Reader holds the error).
    std::optional<std::string> string(const char* key) const;
    std::optional<bool> boolean(const char* key) const;
    std::optional<std::int64_t> int64(const char* key, std::int64_t min, std::int64_t max) const;
    std::optional<std::chrono::milliseconds> millis(const char* key, std::int64_t min) const;
    std::optional<std::uint16_t> port(const char* key) const;
    // A file path, resolved against the document's base_dir.
    std::optional<std::string> path(const char* key) const;

    template <typename T>
    std::optional<T> integer(const char* key, T min, T max) const {
        static_assert(std::is_unsigned_v<T> || sizeof(T) < sizeof(std::int64_t));
        const auto v = int64(key, static_cast<std::int64_t>(min), static_cast<std::int64_t>(max));
        return v ? std::optional<T>(static_cast<T>(*v)) : std::nullopt;
    }

    // A string parsed by parse(std::string_view) -> ValueResult<T>.
    template <typename Parse>
    auto parsed(const char* key, Parse parse) const -> std::optional<ParsedType<Parse>> {
        const config_setting_t* s = member(key);
        if (s == nullptr || !expect_string(s, key_path(key))) {
            return std::nullopt;
        }
        return parse_one(s, key_path(key), parse);
    }

    // A list or array of strings, each parsed by parse.
    template <typename Parse>
    auto parsed_list(const char* key, Parse parse) const
        -> std::optional<std::vector<ParsedType<Parse>>> {
        const config_setting_t* s = member(key);
        if (s == nullptr || !expect_list(s, key_path(key))) {
            return std::nullopt;
        }
        std::vector<ParsedType<Parse>> out;
        for (int i = 0; i < config_setting_length(s); ++i) {
            const config_setting_t* e = config_setting_get_elem(s, static_cast<unsigned>(i));
            const std::string elem_key = key_path(key) + "[" + std::to_string(i) + "]";
            if (!expect_string(e, elem_key)) {
                return std::nullopt;
            }
            auto v = parse_one(e, elem_key, parse);
            if (!v) {
                return std::nullopt;
            }
            out.push_back(std::move(*v));
        }
        return out;
    }

    // v, or T{} after recording "required key is missing" if the key is
    // absent (a failed read of a present key has already recorded its error).
    template <typename T>
    T required(const char* key, std::optional<T> v) const {
        if (!v) {
            missing(key);
            return T{};
        }
        return std::move(*v);
    }

    // Records that key is absent but required, unless another error came
    // first; placed at this group, or at the end of the file.
    void missing(const char* key, std::string_view reason = "required key is missing") const;

    // Records "where: path.key: reason" at the key, or at this group if the
    // key is absent.
    void fail(const char* key, std::string_view reason) const;

    // Adds the warning "where: path.key: reason", placed as fail() does.
    void warn(const char* key, std::string_view reason) const;

private:
    Group(Reader& reader, const config_setting_t* setting, const config_setting_t* anchor,
          std::string path)
        : reader_(&reader), setting_(setting), anchor_(anchor), path_(std::move(path)) {}

    const config_setting_t* member(const char* key) const;
    std::string key_path(std::string_view key) const;
    void check_known(KeyNames known) const;
    bool expect_string(const config_setting_t* s, const std::string& key) const;
    bool expect_list(const config_setting_t* s, const std::string& key) const;
    // Where to report an error about s: its own line, or its parent's if
    // libconfig gave it none.
    const config_setting_t* locate(const config_setting_t* s) const;

    template <typename Parse>
    auto parse_one(const config_setting_t* s, const std::string& key, Parse parse) const
        -> std::optional<ParsedType<Parse>> {
        auto v = parse(string_value(s));
        if (!v) {
            reader_->fail(locate(s), key, v.error().reason);
            return std::nullopt;
        }
        return std::move(v).value();
    }

    Reader* reader_;                  // outlives the Group
    const config_setting_t* setting_; // null if the group is absent
    const config_setting_t* anchor_;  // nearest present group, for locations
    std::string path_;                // dotted path, "" for the root
};

} // namespace enftun::config::detail
