#include "enftun/conn/backoff_record.hpp"

#include <charconv>
#include <cstdio>

namespace enftun::conn {

namespace {

constexpr std::string_view kMagic = "enftun-backoff";
constexpr unsigned kVersion = 2;
// The keys after the version line, in their order.
constexpr std::string_view kKeys[] = {"boot_id", "written_ms", "remote", "identity", "attempt"};
constexpr std::size_t kMaxValueBytes = 512;

// A value is printable ASCII (no control character, no line break).
bool printable(std::string_view s) {
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return !s.empty();
}

// A whole decimal number, no sign, no leading '+' or space.
template <typename T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// The lines of text, each without its '\n'; the last must end with one.
bool split_lines(std::string_view text, std::vector<std::string_view>& lines) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return false;
        }
        lines.push_back(text.substr(0, nl));
        text.remove_prefix(nl + 1);
    }
    return true;
}

std::string line_error(std::size_t line, std::string_view what) {
    return "line " + std::to_string(line) + ": " + std::string(what);
}

// Stores the value of key into record; false if the value is not valid.
bool set_value(BackoffRecord& r, std::string_view key, std::string_view value) {
    if (key == "boot_id") {
        r.boot_id = value;
        return true;
    }
    if (key == "written_ms") {
        return parse_number(value, r.written_ms);
    }
    if (key == "remote") {
        r.remote = value;
        return value.find(' ') != std::string_view::npos;
    }
    if (key == "identity") {
        r.identity = value;
        return value.find(' ') == std::string_view::npos;
    }
    return parse_number(value, r.attempt) && r.attempt <= kMaxBackoffAttempt;
}

} // namespace

std::string remote_key(const std::vector<std::string>& hosts, std::uint16_t port) {
    std::string out;
    for (const auto& host : hosts) {
        out.append(out.empty() ? "" : ",").append(host);
    }
    if (out.size() > kMaxRemoteHostsText) {
        // remote.hosts has no bound; the record's value has one. FNV-1a
        // (64 bits): stable across runs and builds, no crypto needed (the
        // key only tells this config's hosts from others').
        std::uint64_t h = 14695981039346656037ULL;
        for (unsigned char c : out) {
            h = (h ^ c) * 1099511628211ULL;
        }
        char hex[17] = {};
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
        out = std::to_string(hosts.size()) + "-hosts-fnv1a64:" + hex;
    }
    return out + " " + std::to_string(port);
}

std::string identity_key(std::string_view cert_sha256_hex) {
    if (cert_sha256_hex.empty()) {
        return "none";
    }
    return "sha256:" + std::string(cert_sha256_hex);
}

std::string encode_backoff_record(const BackoffRecord& r) {
    std::string out;
    out.append(kMagic).append(" ").append(std::to_string(kVersion)).append("\n");
    out.append("boot_id ").append(r.boot_id).append("\n");
    out.append("written_ms ").append(std::to_string(r.written_ms)).append("\n");
    out.append("remote ").append(r.remote).append("\n");
    out.append("identity ").append(r.identity).append("\n");
    out.append("attempt ").append(std::to_string(r.attempt)).append("\n");
    return out;
}

Result<BackoffRecord, std::string> parse_backoff_record(std::string_view text) {
    if (text.size() > kMaxBackoffRecordBytes) {
        return std::string("longer than ") + std::to_string(kMaxBackoffRecordBytes) + " bytes";
    }
    std::vector<std::string_view> lines;
    if (!split_lines(text, lines)) {
        return std::string("the last line does not end with a line break");
    }
    if (lines.empty() || lines[0] != std::string(kMagic) + " " + std::to_string(kVersion)) {
        return line_error(1,
                          "not \"" + std::string(kMagic) + " " + std::to_string(kVersion) + "\"");
    }
    if (lines.size() != 1 + std::size(kKeys)) {
        return "expected " + std::to_string(1 + std::size(kKeys)) + " lines, found " +
               std::to_string(lines.size());
    }
    BackoffRecord r;
    for (std::size_t i = 0; i < std::size(kKeys); ++i) {
        const std::string_view line = lines[i + 1];
        const std::string_view key = kKeys[i];
        if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') {
            return line_error(i + 2, "expected \"" + std::string(key) + " VALUE\"");
        }
        const std::string_view value = line.substr(key.size() + 1);
        if (value.size() > kMaxValueBytes || !printable(value) || !set_value(r, key, value)) {
            return line_error(i + 2, "bad " + std::string(key));
        }
    }
    return r;
}

std::uint64_t max_record_age_ms(std::uint64_t cap_ms) {
    return 2 * cap_ms + 60000;
}

ResumeVerdict decide_resume(const BackoffRecord& record, std::string_view boot_id,
                            std::uint64_t now_ms, const BackoffSubject& subject,
                            std::uint64_t cap_ms) {
    if (record.boot_id != boot_id) {
        return ResumeVerdict::OtherBoot;
    }
    if (record.written_ms > now_ms) {
        return ResumeVerdict::FromFuture;
    }
    if (now_ms - record.written_ms > max_record_age_ms(cap_ms)) {
        return ResumeVerdict::Stale;
    }
    if (record.remote != subject.remote) {
        return ResumeVerdict::OtherRemote;
    }
    if (record.identity != subject.identity) {
        return ResumeVerdict::OtherIdentity;
    }
    if (record.attempt == 0) {
        return ResumeVerdict::NoBackoff;
    }
    return ResumeVerdict::Resume;
}

const char* to_string(ResumeVerdict verdict) {
    switch (verdict) {
    case ResumeVerdict::Resume:
        return "resumed";
    case ResumeVerdict::OtherBoot:
        return "written before this boot";
    case ResumeVerdict::Stale:
        return "too old";
    case ResumeVerdict::FromFuture:
        return "written later than now (another clock)";
    case ResumeVerdict::OtherRemote:
        return "for another remote.hosts or remote.port";
    case ResumeVerdict::OtherIdentity:
        return "made with another client certificate";
    case ResumeVerdict::NoBackoff:
        return "no back-off to resume";
    }
    return "?";
}

} // namespace enftun::conn
