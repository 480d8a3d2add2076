#include "enftun/control/request.hpp"

#include <vector>

namespace enftun::control {

namespace {

// At most this many words: enough for every request, and a bound on the
// work a hostile line can cause.
constexpr std::size_t kMaxWords = 4;

bool split_words(std::string_view line, std::vector<std::string_view>& words) {
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') {
            ++i;
        }
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ') {
            ++i;
        }
        if (i > start) {
            if (words.size() == kMaxWords) {
                return false;
            }
            words.push_back(line.substr(start, i - start));
        }
    }
    return true;
}

} // namespace

Result<RequestKind> parse_request(std::string_view line) {
    if (line.size() >= kMaxRequestBytes) {
        return make_error(Errc::NoSpace, "request too long");
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    for (char c : line) {
        if (c < 0x20 || c > 0x7e) {
            return make_error(Errc::Malformed, "request is not printable text");
        }
    }
    std::vector<std::string_view> words;
    if (!split_words(line, words)) {
        return make_error(Errc::Unsupported, "unknown request (try: status, status json, metrics)");
    }
    if (words.empty()) {
        return make_error(Errc::Truncated, "empty request (try: status, status json, metrics)");
    }
    if (words.size() == 1 && words[0] == "status") {
        return RequestKind::StatusText;
    }
    if (words.size() == 2 && words[0] == "status" && words[1] == "json") {
        return RequestKind::StatusJson;
    }
    if (words.size() == 1 && words[0] == "metrics") {
        return RequestKind::Metrics;
    }
    return make_error(Errc::Unsupported, "unknown request (try: status, status json, metrics)");
}

std::string error_line(std::string_view reason) {
    std::string out = "error: ";
    out += reason;
    out += '\n';
    return out;
}

std::string answer_request(std::string_view line, const StatusRenderers& renderers) {
    auto kind = parse_request(line);
    if (!kind) {
        return error_line(kind.error().what);
    }
    const std::function<std::string()>* render = nullptr;
    switch (*kind) {
    case RequestKind::StatusText:
        render = &renderers.text;
        break;
    case RequestKind::StatusJson:
        render = &renderers.json;
        break;
    case RequestKind::Metrics:
        render = &renderers.metrics;
        break;
    }
    if (render == nullptr || !*render) {
        return error_line("not available");
    }
    return (*render)();
}

} // namespace enftun::control
