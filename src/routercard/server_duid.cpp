#include "enftun/routercard/server_duid.hpp"

#include "enftun/util/hex.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "enftun/fs/atomic_file.hpp"
#include "enftun/fs/small_file.hpp"
#include "enftun/log/log.hpp"
#include "enftun/proto/dhcpv6.hpp"
#include "enftun/util/unique_fd.hpp"

namespace enftun::tunnel {

namespace {

// A DUID file is one short line; anything longer is not ours.
constexpr std::size_t kMaxFileLen = 1024;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

std::optional<std::vector<std::uint8_t>> parse_duid_text(std::string_view text) {
    text = trim(text);
    std::vector<std::uint8_t> duid;
    int hi = -1;
    for (char c : text) {
        if (c == ':' && hi < 0) {
            continue;
        }
        const int v = hex_digit_value(c);
        if (v < 0) {
            return std::nullopt;
        }
        if (hi < 0) {
            hi = v;
        } else {
            duid.push_back(static_cast<std::uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    if (hi >= 0 || duid.size() < proto::kDuidMinLen || duid.size() > proto::kDuidMaxLen) {
        return std::nullopt;
    }
    return duid;
}

std::string format_duid_text(Bytes duid) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : duid) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0f]);
    }
    return out;
}

std::vector<std::uint8_t> make_random_duid() {
    std::array<std::uint8_t, 16> uuid{};
    // getrandom() on 16 bytes does not return short once the pool is ready;
    // it blocks until then, which only matters very early at boot.
    while (::getrandom(uuid.data(), uuid.size(), 0) != static_cast<ssize_t>(uuid.size())) {
        if (errno != EINTR) {
            ENFTUN_LOG_ERROR("getrandom: %s", std::strerror(errno));
            std::abort(); // no randomness: a broken system, not a recoverable error
        }
    }
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0f) | 0x40); // version 4
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3f) | 0x80); // RFC 9562 variant
    // Sized up front: GCC 12 -O2 warns (-Warray-bounds, a false positive) on
    // inserting into a vector built from an initializer list.
    std::vector<std::uint8_t> duid(2 + uuid.size());
    duid[0] = kDuidTypeUuid >> 8;
    duid[1] = kDuidTypeUuid & 0xff;
    std::copy(uuid.begin(), uuid.end(), duid.begin() + 2);
    return duid;
}

fs::FileResult<void> store_duid(const std::string& path, Bytes duid) {
    return fs::write_file_atomically(path, format_duid_text(duid) + "\n", 0600);
}

std::vector<std::uint8_t> load_or_create_server_duid(const std::string& path) {
    auto text = fs::read_small_file(path, kMaxFileLen, fs::Symlink::Follow);
    if (text) {
        if (auto duid = parse_duid_text(*text)) {
            return *duid;
        }
        ENFTUN_LOG_WARN("DHCPv6 DUID file %s holds no DUID; making a new one", path.c_str());
    } else if (const Error& e = text.error(); e.sys != ENOENT) {
        ENFTUN_LOG_WARN("DHCPv6 DUID file %s: %s%s%s; making a new one", path.c_str(), e.what,
                        e.sys != 0 ? ": " : "", e.sys != 0 ? std::strerror(e.sys) : "");
    }
    std::vector<std::uint8_t> duid = make_random_duid();
    if (auto st = store_duid(path, duid); !st) {
        ENFTUN_LOG_WARN("DHCPv6 DUID file: %s; using DUID %s for this run only",
                        st.error().message.c_str(), format_duid_text(duid).c_str());
    } else {
        ENFTUN_LOG_INFO("DHCPv6 server DUID %s stored in %s", format_duid_text(duid).c_str(),
                        path.c_str());
    }
    return duid;
}

} // namespace enftun::tunnel
