#include "reader.hpp"

#include "include_check.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

namespace enftun::config::detail {

namespace {

// A config file is a few kilobytes; refuse anything absurd rather than read
// a device or a log file into memory.
constexpr std::size_t kMaxFileSize = 1 << 20;

// Durations are at most INT32_MAX ms (24.8 days): the largest plain
// libconfig integer, and safe to double in backoff arithmetic.
constexpr std::int64_t kMaxMillis = std::numeric_limits<std::int32_t>::max();

unsigned line_of(const std::string& text, std::size_t pos) {
    return static_cast<unsigned>(
               std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n')) +
           1;
}

unsigned count_lines(const std::string& text) {
    if (text.empty()) {
        return 1;
    }
    return line_of(text, text.size()) - (text.back() == '\n' ? 1 : 0);
}

const char* type_name(const config_setting_t* s) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return "group";
    case CONFIG_TYPE_INT:
        return "integer";
    case CONFIG_TYPE_INT64:
        return "64-bit integer";
    case CONFIG_TYPE_FLOAT:
        return "float";
    case CONFIG_TYPE_STRING:
        return "string";
    case CONFIG_TYPE_BOOL:
        return "boolean";
    case CONFIG_TYPE_ARRAY:
        return "array";
    case CONFIG_TYPE_LIST:
        return "list";
    default:
        return "nothing";
    }
}

std::string type_error(const char* expected, const config_setting_t* s) {
    return std::string("must be ") + expected + " (got " + type_name(s) + ")";
}

// The value of an integer setting. libconfig 1.5 stores a literal without
// the L suffix in a 32-bit int; a hex literal such as 0xffffffff is meant
// as unsigned, so read it back as uint32. (A decimal literal beyond 32 bits
// has already wrapped inside libconfig; only the L suffix avoids that.)
std::optional<std::int64_t> integer_value(const config_setting_t* s) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
        if (config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
            return static_cast<std::uint32_t>(config_setting_get_int(s));
        }
        return config_setting_get_int(s);
    case CONFIG_TYPE_INT64:
        return config_setting_get_int64(s);
    default:
        return std::nullopt;
    }
}

std::string range_error(std::int64_t min, std::int64_t max, std::int64_t got) {
    return "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
           std::to_string(got) + ")";
}

ConfigError io_error(const std::string& path, int err) {
    return ConfigError{path + ": cannot read config file: " + std::strerror(err)};
}

} // namespace

Result<Document, ConfigError> Document::parse(const std::string& text, std::string label,
                                              std::string base_dir) {
    Document doc;
    doc.lib_ = std::make_unique<LibConfig>();
    doc.label_ = std::move(label);
    doc.base_dir_ = std::move(base_dir);
    doc.eof_line_ = count_lines(text);
    // config_read_string() would stop at a NUL and ignore the rest.
    if (const auto nul = text.find('\0'); nul != std::string::npos) {
        return ConfigError{doc.label_ + ":" + std::to_string(line_of(text, nul)) +
                           ": contains a NUL byte"};
    }
    if (auto err = check_includes(text, doc.label_, doc.base_dir_)) {
        return *err;
    }
    config_t* cfg = &doc.lib_->cfg;
    if (!doc.base_dir_.empty()) {
        // libconfig prefixes every @include, absolute or not, with this.
        config_set_include_dir(cfg, doc.base_dir_.c_str());
    }
    if (config_read_string(cfg, text.c_str()) != CONFIG_TRUE) {
        const char* what = config_error_text(cfg);
        return ConfigError{doc.file_name(config_error_file(cfg)) + ":" +
                           std::to_string(config_error_line(cfg)) + ": " +
                           (what != nullptr ? what : "parse error")};
    }
    return doc;
}

std::string Document::file_name(const char* file) const {
    if (file == nullptr) {
        return label_;
    }
    // libconfig reports an included file as written in the @include.
    auto joined = resolve_path(base_dir_, file);
    return joined ? *joined : label_;
}

std::string Document::where(const config_setting_t* setting) const {
    if (setting == nullptr || config_setting_source_line(setting) == 0) {
        return label_ + ":" + std::to_string(eof_line_);
    }
    return file_name(config_setting_source_file(setting)) + ":" +
           std::to_string(config_setting_source_line(setting));
}

Result<std::string, ConfigError> read_config_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (forever).
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        return io_error(path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return io_error(path, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return ConfigError{path + ": cannot read config file: " +
                           (S_ISDIR(st.st_mode) ? std::strerror(EISDIR) : "not a regular file")};
    }
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            const int err = errno;
            if (err == EINTR) {
                continue;
            }
            return io_error(path, err);
        }
        if (n == 0) {
            return text;
        }
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxFileSize) {
            return ConfigError{path + ": cannot read config file: larger than 1 MiB"};
        }
    }
}

std::string config_dir(const std::string& path) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(path, ec);
    if (ec) {
        abs = path;
    }
    return abs.parent_path().string();
}

void Reader::fail(const config_setting_t* at, std::string_view key, std::string_view reason) {
    if (!error_) {
        error_ = ConfigError{doc_.where(at) + ": " + std::string(key) + ": " + std::string(reason)};
    }
}

void Reader::fail_missing(const config_setting_t* at, std::string_view key,
                          std::string_view reason) {
    if (ok()) {
        missing_ =
            ConfigError{doc_.where(at) + ": " + std::string(key) + ": " + std::string(reason)};
    }
}

void Reader::warn(const config_setting_t* at, std::string_view key, std::string_view reason) {
    warnings_.push_back(doc_.where(at) + ": " + std::string(key) + ": " + std::string(reason));
}

Group Group::root(Reader& reader, std::initializer_list<std::string_view> known) {
    const config_setting_t* root = reader.doc().root();
    Group g(reader, root, root, "");
    g.check_known(KeyNames(known.begin(), known.size()));
    return g;
}

Group Group::group_of(const char* name, KeyNames known) const {
    const config_setting_t* s = member(name);
    if (s != nullptr && !config_setting_is_group(s)) {
        reader_->fail(locate(s), key_path(name), type_error("a group", s));
        s = nullptr;
    }
    Group g(*reader_, s, s != nullptr ? s : anchor_, key_path(name));
    if (s != nullptr) {
        g.check_known(known);
    }
    return g;
}

std::optional<int> Group::group_length(const char* key) const {
    const config_setting_t* s = member(key);
    if (s == nullptr) {
        return std::nullopt;
    }
    if (!config_setting_is_group(s)) {
        reader_->fail(locate(s), key_path(key), type_error("a group", s));
        return std::nullopt;
    }
    return config_setting_length(s);
}

std::optional<std::string> Group::string(const char* key) const {
    const config_setting_t* s = member(key);
    if (s == nullptr || !expect_string(s, key_path(key))) {
        return std::nullopt;
    }
    return std::string(string_value(s));
}

std::optional<bool> Group::boolean(const char* key) const {
    const config_setting_t* s = member(key);
    if (s == nullptr) {
        return std::nullopt;
    }
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        reader_->fail(locate(s), key_path(key), type_error("a boolean (true or false)", s));
        return std::nullopt;
    }
    return config_setting_get_bool(s) != 0;
}

std::optional<std::int64_t> Group::int64(const char* key, std::int64_t min,
                                         std::int64_t max) const {
    const config_setting_t* s = member(key);
    if (s == nullptr) {
        return std::nullopt;
    }
    const auto v = integer_value(s);
    if (!v) {
        reader_->fail(locate(s), key_path(key), type_error("an integer", s));
        return std::nullopt;
    }
    if (*v < min || *v > max) {
        reader_->fail(locate(s), key_path(key), range_error(min, max, *v));
        return std::nullopt;
    }
    return v;
}

std::optional<std::chrono::milliseconds> Group::millis(const char* key, std::int64_t min) const {
    const auto v = int64(key, min, kMaxMillis);
    return v ? std::optional(std::chrono::milliseconds(*v)) : std::nullopt;
}

std::optional<std::uint16_t> Group::port(const char* key) const {
    const config_setting_t* s = member(key);
    if (s == nullptr) {
        return std::nullopt;
    }
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        // The original enftun wrote the port as a string: port = "443".
        return parse_one(s, key_path(key), parse_port);
    }
    if (!integer_value(s)) {
        reader_->fail(locate(s), key_path(key),
                      type_error("a port number (an integer or a string of digits)", s));
        return std::nullopt;
    }
    return integer<std::uint16_t>(key, 1, 65535);
}

std::optional<std::string> Group::path(const char* key) const {
    const std::string& base = reader_->doc().base_dir();
    return parsed(key, [&base](std::string_view text) { return resolve_path(base, text); });
}

void Group::missing(const char* key, std::string_view reason) const {
    reader_->fail_missing(anchor_, key_path(key), reason);
}

void Group::fail(const char* key, std::string_view reason) const {
    const config_setting_t* s = member(key);
    reader_->fail(s != nullptr ? locate(s) : anchor_, key_path(key), reason);
}

void Group::warn(const char* key, std::string_view reason) const {
    const config_setting_t* s = member(key);
    reader_->warn(s != nullptr ? locate(s) : anchor_, key_path(key), reason);
}

const config_setting_t* Group::member(const char* key) const {
    if (setting_ == nullptr || reader_->rejected()) {
        return nullptr;
    }
    return config_setting_get_member(setting_, key);
}

std::string Group::key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void Group::check_known(KeyNames known) const {
    for (int i = 0; i < config_setting_length(setting_); ++i) {
        const config_setting_t* s = config_setting_get_elem(setting_, static_cast<unsigned>(i));
        const std::string_view name = config_setting_name(s);
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            reader_->fail(locate(s), key_path(name),
                          config_setting_is_group(s) ? "unknown group" : "unknown key");
            return;
        }
    }
}

bool Group::expect_string(const config_setting_t* s, const std::string& key) const {
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        reader_->fail(locate(s), key, type_error("a string", s));
        return false;
    }
    return true;
}

bool Group::expect_list(const config_setting_t* s, const std::string& key) const {
    if (!config_setting_is_list(s) && !config_setting_is_array(s)) {
        reader_->fail(locate(s), key, type_error("a list of strings", s));
        return false;
    }
    return true;
}

const config_setting_t* Group::locate(const config_setting_t* s) const {
    while (config_setting_source_line(s) == 0 && config_setting_parent(s) != nullptr) {
        s = config_setting_parent(s);
    }
    return s;
}

} // namespace enftun::config::detail
