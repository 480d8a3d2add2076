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

// Reads the whole (small) file. Errors: System with errno (ENOENT when
// there is no file yet), Malformed if it is too long.
Result<std::string> read_small_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot open", errno);
    }
    std::string text(kMaxFileLen + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return make_error(Errc::System, "cannot read", errno);
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got > kMaxFileLen) {
        return make_error(Errc::Malformed, "file too long for a DUID");
    }
    text.resize(got);
    return text;
}

Status write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return make_error(Errc::System, "cannot write", errno);
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
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

Status store_duid(const std::string& path, Bytes duid) {
    std::string tmp = path + ".tmpXXXXXX";
    // mkstemp creates the file 0600 whatever the umask: umask 077 semantics.
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd.valid()) {
        return make_error(Errc::System, "cannot create a temp file", errno);
    }
    Status st = write_all(fd.get(), format_duid_text(duid) + "\n");
    if (st && ::fsync(fd.get()) != 0) {
        st = make_error(Errc::System, "cannot fsync", errno);
    }
    fd.reset();
    if (st && std::rename(tmp.c_str(), path.c_str()) != 0) {
        st = make_error(Errc::System, "cannot rename into place", errno);
    }
    if (!st) {
        ::unlink(tmp.c_str());
    }
    return st;
}

std::vector<std::uint8_t> load_or_create_server_duid(const std::string& path) {
    auto text = read_small_file(path);
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
        ENFTUN_LOG_WARN("DHCPv6 DUID file %s: %s: %s; using DUID %s for this run only",
                        path.c_str(), st.error().what, std::strerror(st.error().sys),
                        format_duid_text(duid).c_str());
    } else {
        ENFTUN_LOG_INFO("DHCPv6 server DUID %s stored in %s", format_duid_text(duid).c_str(),
                        path.c_str());
    }
    return duid;
}

} // namespace enftun::tunnel
