#include "enftun/router/route_record.hpp"

#include "enftun/fs/small_file.hpp"

#include <net/if.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <vector>

namespace enftun::router {

namespace {

constexpr std::string_view kMagic = "enftun-router routes v1";
constexpr std::size_t kMaxBootId = 64;

std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> words;
    while (!line.empty()) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) {
            break;
        }
        line.remove_prefix(start);
        const auto end = line.find(' ');
        words.push_back(line.substr(0, end));
        line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    }
    return words;
}

// A whole decimal number of type T, nothing else.
template <typename T>
std::optional<T> number(std::string_view text) {
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

bool plain_word(std::string_view w, std::size_t max) {
    if (w.empty() || w.size() > max) {
        return false;
    }
    for (const char c : w) {
        if (c <= ' ' || c > '~') {
            return false;
        }
    }
    return true;
}

std::string boot_id_now() {
    auto text =
        fs::read_small_file("/proc/sys/kernel/random/boot_id", kMaxBootId, fs::Symlink::Follow);
    if (!text) {
        return {};
    }
    std::string id = *text;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
        id.pop_back();
    }
    return plain_word(id, kMaxBootId) ? id : std::string();
}

} // namespace

std::string format_route_record(const RouteRecord& r) {
    char line[256];
    std::snprintf(
        line, sizeof line, "%.*s boot %s netns %llu:%llu dev %u %s table %u protocol %u\n",
        static_cast<int>(kMagic.size()), kMagic.data(), r.boot_id.c_str(),
        static_cast<unsigned long long>(r.netns_dev), static_cast<unsigned long long>(r.netns_ino),
        r.ifindex, r.ifname.c_str(), r.table, static_cast<unsigned>(r.protocol));
    return line;
}

std::optional<RouteRecord> parse_route_record(std::string_view text) {
    if (!text.starts_with(kMagic) || !text.ends_with('\n') || text.find('\n') != text.size() - 1) {
        return std::nullopt;
    }
    text.remove_prefix(kMagic.size());
    text.remove_suffix(1);
    const auto w = words_of(text);
    if (w.size() != 11 || w[0] != "boot" || w[2] != "netns" || w[4] != "dev" || w[7] != "table" ||
        w[9] != "protocol") {
        return std::nullopt;
    }
    RouteRecord r;
    const auto colon = w[3].find(':');
    if (!plain_word(w[1], kMaxBootId) || colon == std::string_view::npos ||
        !plain_word(w[6], IFNAMSIZ - 1)) {
        return std::nullopt;
    }
    auto dev = number<std::uint64_t>(w[3].substr(0, colon));
    auto ino = number<std::uint64_t>(w[3].substr(colon + 1));
    auto ifindex = number<unsigned>(w[5]);
    auto table = number<std::uint32_t>(w[8]);
    auto protocol = number<std::uint8_t>(w[10]);
    // What router.tun.route_table and route_protocol allow: never the
    // kernel's own routes (protocols 0-4) nor its local table.
    if (!dev || !ino || !ifindex || *ifindex == 0 || !table || *table == 0 || *table == 255 ||
        *table > 0x7fffffff || !protocol || *protocol < 5) {
        return std::nullopt;
    }
    r.boot_id = std::string(w[1]);
    r.netns_dev = *dev;
    r.netns_ino = *ino;
    r.ifindex = *ifindex;
    r.ifname = std::string(w[6]);
    r.table = *table;
    r.protocol = *protocol;
    return r;
}

std::optional<RouteRecord> route_record_here(unsigned ifindex, std::uint32_t table,
                                             std::uint8_t protocol) {
    struct stat st {};
    char name[IF_NAMESIZE] = {};
    if (::stat("/proc/self/ns/net", &st) != 0 || if_indextoname(ifindex, name) == nullptr) {
        return std::nullopt;
    }
    RouteRecord r;
    r.boot_id = boot_id_now();
    if (r.boot_id.empty()) {
        return std::nullopt;
    }
    r.netns_dev = st.st_dev;
    r.netns_ino = st.st_ino;
    r.ifindex = ifindex;
    r.ifname = name;
    r.table = table;
    r.protocol = protocol;
    return r;
}

bool record_is_ours_here(const RouteRecord& r) {
    const auto now = route_record_here(r.ifindex, r.table, r.protocol);
    return now && now->boot_id == r.boot_id && now->netns_dev == r.netns_dev &&
           now->netns_ino == r.netns_ino && now->ifname == r.ifname;
}

} // namespace enftun::router
