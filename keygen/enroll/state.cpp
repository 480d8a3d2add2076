#include "enroll/state.hpp"

#include "common/atomic_file.hpp"
#include "common/ipv4.hpp"
#include "enroll/request.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace enftun::enroll {

namespace {

// 64 MiB: about half a million enrolments; a larger file is not ours.
constexpr std::size_t kMaxStateFile = 64u << 20;
constexpr const char* kHeader = "# enftun-enroll state v1: ADDRESS USER SERIAL NOT_AFTER REVOKED "
                                "[IPV4] [from=SERIAL key=SHA256]\n";

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

bool valid_serial(std::string_view s) {
    return !s.empty() && s.size() <= 40 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    });
}

bool valid_sha256_hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// The renewal fields "from=SERIAL key=SHA256" at the end of a line, if
// any: removed from f. Returns why they are malformed, or "".
std::string parse_renewal(std::vector<std::string_view>& f, Enrolment& e) {
    static constexpr std::string_view kFrom = "from=";
    static constexpr std::string_view kKey = "key=";
    if (f.empty() || f.back().substr(0, kKey.size()) != kKey) {
        return {};
    }
    if (f.size() < 2 || f[f.size() - 2].substr(0, kFrom.size()) != kFrom) {
        return "key= must follow from=SERIAL";
    }
    const std::string_view from = f[f.size() - 2].substr(kFrom.size());
    const std::string_view key = f.back().substr(kKey.size());
    if (!valid_serial(from)) {
        return "from= must be an upper-case hex serial";
    }
    if (!valid_sha256_hex(key)) {
        return "key= must be 64 lower-case hex digits";
    }
    e.renewed_from = std::string(from);
    e.key_sha256 = std::string(key);
    f.resize(f.size() - 2);
    return {};
}

std::string parse_line(std::string_view line, Enrolment& e) {
    auto f = fields_of(line);
    if (auto why = parse_renewal(f, e); !why.empty()) {
        return why;
    }
    if (f.size() != 5 && f.size() != 6) {
        return "expected 5 or 6 fields: ADDRESS USER SERIAL NOT_AFTER REVOKED [IPV4], then "
               "from=SERIAL key=SHA256 for a renewal";
    }
    const auto addr = proto::Ipv6Addr::parse(f[0]);
    if (!addr) {
        return "not an IPv6 address: " + std::string(f[0].substr(0, 64));
    }
    if (!is_valid_user_name(f[1])) {
        return "not a valid user name";
    }
    if (!valid_serial(f[2])) {
        return "serial must be upper-case hex";
    }
    const auto [end, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), e.not_after);
    if (ec != std::errc() || end != f[3].data() + f[3].size()) {
        return "NOT_AFTER must be a number of seconds";
    }
    if (f[4] != "0" && f[4] != "1") {
        return "REVOKED must be 0 or 1";
    }
    if (f.size() == 6) {
        auto ipv4 = keygen::parse_ipv4_addr(f[5]);
        if (!ipv4 || !proto::is_routable_unicast(*ipv4)) {
            return "IPV4 must be a routable unicast IPv4 address";
        }
        e.ipv4 = *ipv4;
    }
    e.address = *addr;
    e.user = std::string(f[1]);
    e.serial = std::string(f[2]);
    e.revoked = f[4] == "1";
    return {};
}

} // namespace

bool State::holds(const proto::Ipv6Addr& addr) const {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const Enrolment& e) { return e.address == addr; });
}

bool State::holds(const proto::Ipv4Addr& addr) const {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const Enrolment& e) { return e.ipv4 == addr; });
}

std::set<proto::Ipv4Addr> State::ipv4_addresses() const {
    std::set<proto::Ipv4Addr> out;
    for (const auto& e : entries) {
        if (e.ipv4) {
            out.insert(*e.ipv4);
        }
    }
    return out;
}

const Enrolment* State::by_serial(std::string_view serial) const {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const Enrolment& e) { return e.serial == serial; });
    return it == entries.end() ? nullptr : &*it;
}

const Enrolment* State::newest_of(const proto::Ipv6Addr& addr) const {
    const auto it = std::find_if(entries.rbegin(), entries.rend(),
                                 [&](const Enrolment& e) { return e.address == addr; });
    return it == entries.rend() ? nullptr : &*it;
}

std::size_t State::active_addresses_of(std::string_view user, std::int64_t now) const {
    std::set<std::array<std::uint8_t, 16>> live;
    for (const auto& e : entries) {
        if (e.user == user && !e.revoked && e.not_after >= now) {
            live.insert(e.address.bytes);
        }
    }
    return live.size();
}

namespace {
// Marks every entry that `matches` and is not revoked yet; returns how many.
template <typename Match>
std::size_t revoke_where(std::vector<Enrolment>& entries, Match matches) {
    std::size_t changed = 0;
    for (auto& e : entries) {
        if (matches(e) && !e.revoked) {
            e.revoked = true;
            ++changed;
        }
    }
    return changed;
}
} // namespace

std::size_t State::revoke(const proto::Ipv6Addr& addr) {
    return revoke_where(entries, [&](const Enrolment& e) { return e.address == addr; });
}

std::size_t State::revoke(const proto::Ipv4Addr& addr) {
    return revoke_where(entries, [&](const Enrolment& e) { return e.ipv4 == addr; });
}

std::size_t State::retire_all_but(const proto::Ipv6Addr& addr, std::string_view keep_serial) {
    return revoke_where(
        entries, [&](const Enrolment& e) { return e.address == addr && e.serial != keep_serial; });
}

std::vector<std::string> State::revoked_serials(std::int64_t now) const {
    std::vector<std::string> out;
    for (const auto& e : entries) {
        if (e.revoked && e.not_after >= now) {
            out.push_back(e.serial);
        }
    }
    return out;
}

keygen::Outcome<State> parse_state(std::string_view text, const std::string& name) {
    State state;
    unsigned line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            // Every line we write ends in '\n': a last line without one is
            // the sign of a file someone else cut short.
            return keygen::Failure{name + ":" + std::to_string(line_no) +
                                   ": last line is not terminated (truncated file?)"};
        }
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        Enrolment e;
        if (auto why = parse_line(line, e); !why.empty()) {
            return keygen::Failure{name + ":" + std::to_string(line_no) + ": " + why};
        }
        state.entries.push_back(std::move(e));
    }
    return state;
}

std::string format_state(const State& state) {
    std::string out = kHeader;
    for (const auto& e : state.entries) {
        out += e.address.to_string() + " " + e.user + " " + e.serial + " " +
               std::to_string(e.not_after) + (e.revoked ? " 1" : " 0") +
               (e.ipv4 ? " " + keygen::format_ipv4(*e.ipv4) : "") +
               (e.renewed_from.empty() ? "" : " from=" + e.renewed_from + " key=" + e.key_sha256) +
               "\n";
    }
    return out;
}

keygen::Outcome<State> load_state(const std::string& path) {
    bool missing = false;
    auto text = keygen::read_file(path, kMaxStateFile, &missing);
    if (!text) {
        if (missing) {
            return State{};
        }
        return text.error();
    }
    return parse_state(*text, path);
}

keygen::Outcome<void> save_state(const std::string& path, const State& state) {
    return keygen::write_file_atomic(path, format_state(state), 0600,
                                     keygen::folder_owner_if_root(path));
}

keygen::Outcome<StateLock> StateLock::acquire(const std::string& state_path) {
    const std::string lock_path = state_path + ".lock";
    UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        return keygen::Failure{"cannot open " + lock_path + ": " + std::strerror(errno)};
    }
    if (auto owner = keygen::folder_owner_if_root(lock_path)) {
        // Best effort: a root-owned lock file would lock the service out.
        (void)::fchown(fd.get(), owner->uid, owner->gid);
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) {
            return keygen::Failure{"cannot lock " + lock_path + ": " + std::strerror(errno)};
        }
    }
    return StateLock(std::move(fd));
}

} // namespace enftun::enroll
