#include "include_check.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enftun::config::detail {

namespace {

// libconfig's MAX_INCLUDE_DEPTH: deeper, it stops with its own error.
constexpr int kMaxDepth = 10;

struct Include {
    std::string name;
    unsigned line = 0;
};

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// The @include at pos (a line's start), if there is one.
std::optional<Include> include_at(const std::string& text, std::size_t pos) {
    static constexpr std::string_view kDirective = "@include";
    while (pos < text.size() && is_blank(text[pos])) {
        ++pos;
    }
    if (text.compare(pos, kDirective.size(), kDirective) != 0) {
        return std::nullopt;
    }
    pos += kDirective.size();
    const std::size_t blanks = pos;
    while (pos < text.size() && is_blank(text[pos])) {
        ++pos;
    }
    if (pos == blanks || pos >= text.size() || text[pos] != '"') {
        return std::nullopt;
    }
    Include inc;
    for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
        if (text[pos] == '\\' && pos + 1 < text.size() &&
            (text[pos + 1] == '\\' || text[pos + 1] == '"')) {
            ++pos;
        }
        inc.name.push_back(text[pos]);
    }
    if (pos >= text.size()) {
        return std::nullopt; // unterminated: libconfig's syntax error
    }
    return inc;
}

class Checker {
public:
    explicit Checker(const std::string& base_dir) : base_dir_(base_dir) {}

    std::optional<ConfigError> check(const std::string& text, const std::string& label, int depth) {
        if (depth >= kMaxDepth) {
            return std::nullopt;
        }
        unsigned line = 1;
        for (std::size_t pos = 0; pos < text.size(); ++line) {
            if (auto inc = include_at(text, pos)) {
                inc->line = line;
                if (auto err = check_one(*inc, label, depth)) {
                    return err;
                }
            }
            const auto newline = text.find('\n', pos);
            if (newline == std::string::npos) {
                break;
            }
            pos = newline + 1;
        }
        return std::nullopt;
    }

private:
    std::optional<ConfigError> check_one(const Include& inc, const std::string& label, int depth) {
        const std::string path = base_dir_.empty() ? inc.name : base_dir_ + "/" + inc.name;
        auto fail = [&](const std::string& reason) {
            return ConfigError{label + ":" + std::to_string(inc.line) + ": @include \"" + inc.name +
                               "\": " + reason};
        };
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        if (!fd.valid()) {
            return std::nullopt; // libconfig says "cannot open include file"
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            return fail(std::string("cannot stat: ") + std::strerror(errno));
        }
        if (!S_ISREG(st.st_mode)) {
            return fail("not a regular file");
        }
        std::string text;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return fail(std::string("cannot read: ") + std::strerror(errno));
            }
            if (n == 0) {
                break;
            }
            if (static_cast<std::size_t>(n) > left_) {
                return fail("the included files are larger than 1 MiB together");
            }
            left_ -= static_cast<std::size_t>(n);
            text.append(buf, static_cast<std::size_t>(n));
        }
        return check(text, path, depth + 1);
    }

    const std::string& base_dir_;
    std::size_t left_ = kMaxIncludedBytes;
};

} // namespace

std::optional<ConfigError> check_includes(const std::string& text, const std::string& label,
                                          const std::string& base_dir) {
    return Checker(base_dir).check(text, label, 0);
}

} // namespace enftun::config::detail
