#include "enftun/control/status_text.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace enftun::control {

void TextTable::row(std::string key, std::string value) {
    rows_.emplace_back(std::move(key), std::move(value));
}

std::string TextTable::render() const {
    std::size_t width = 0;
    for (const auto& [key, value] : rows_) {
        width = std::max(width, key.size());
    }
    std::string out;
    for (const auto& [key, value] : rows_) {
        out += key;
        out.append(width - key.size() + 2, ' ');
        out += value;
        out += '\n';
    }
    return out;
}

std::string human_duration(std::int64_t seconds) {
    if (seconds < 0) {
        seconds = 0;
    }
    static constexpr struct {
        std::int64_t size;
        char name;
    } kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (std::size_t i = 0; i < std::size(kUnits); ++i) {
        if (seconds < kUnits[i].size && kUnits[i].size != 1) {
            continue;
        }
        std::string out = std::to_string(seconds / kUnits[i].size) + kUnits[i].name;
        if (i + 1 < std::size(kUnits)) {
            std::int64_t rest = (seconds % kUnits[i].size) / kUnits[i + 1].size;
            out += ' ' + std::to_string(rest) + kUnits[i + 1].name;
        }
        return out;
    }
    return "0s";
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
        value /= 1024.0;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
    return buf;
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
    if (unix_seconds == 0) {
        return "";
    }
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) {
        return "";
    }
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string json_line(const nlohmann::json& value) {
    std::string out = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
    return out;
}

} // namespace enftun::control
