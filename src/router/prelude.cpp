#include "enftun/router/prelude.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace enftun::router {

namespace {
// RFC 8446 section 5.1: ContentType handshake(22), legacy_record_version
// 0x03xx, uint16 length (at most 2^14 for a plaintext record); section 4:
// HandshakeType client_hello(1), uint24 length.
constexpr std::uint8_t kContentHandshake = 22;
constexpr std::uint8_t kRecordMajor = 3;
constexpr std::size_t kMaxPlaintextRecord = 16384;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kHandshakeHeaderLen = 4;
} // namespace

HelloPrefix check_hello_prefix(std::span<const std::uint8_t> p) {
    if (p.size() < kHelloPrefixLen || p[0] != kContentHandshake || p[1] != kRecordMajor ||
        p[5] != kClientHello) {
        return HelloPrefix::NotTls;
    }
    std::size_t record_len = (std::size_t{p[3]} << 8) | p[4];
    if (record_len < kHandshakeHeaderLen || record_len > kMaxPlaintextRecord) {
        return HelloPrefix::NotTls;
    }
    std::size_t hello_len = (std::size_t{p[6]} << 16) | (std::size_t{p[7]} << 8) | p[8];
    return hello_len > kMaxClientHello ? HelloPrefix::TooLarge : HelloPrefix::Ok;
}

Prelude::Prelude(loop::Loop& loop, UniqueFd fd, std::string peer, std::string source,
                 HandshakeBudget::Id id, std::uint64_t accepted_ms, OnDone on_done)
    : fd_(std::move(fd)), peer_(std::move(peer)), source_(std::move(source)), id_(id),
      accepted_ms_(accepted_ms), on_done_(std::move(on_done)),
      poll_(loop, fd_.get(), [this](int status, int) {
          if (status < 0) {
              stop();
              on_done_(*this, Outcome::Closed);
              return;
          }
          on_readable();
      }) {
    int lowat = static_cast<int>(kHelloPrefixLen);
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
    poll_.watch(UV_READABLE);
}

void Prelude::on_readable() {
    std::array<std::uint8_t, kHelloPrefixLen> prefix{};
    ssize_t n = ::recv(fd_.get(), prefix.data(), prefix.size(), MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    stop();
    if (n < static_cast<ssize_t>(prefix.size())) {
        // SO_RCVLOWAT: readable with fewer bytes means EOF or an error.
        on_done_(*this, Outcome::Closed);
        return;
    }
    switch (check_hello_prefix(prefix)) {
    case HelloPrefix::Ok:
        on_done_(*this, Outcome::Ready);
        return;
    case HelloPrefix::NotTls:
        on_done_(*this, Outcome::NotTls);
        return;
    case HelloPrefix::TooLarge:
        on_done_(*this, Outcome::TooLarge);
        return;
    }
}

UniqueFd Prelude::take_fd() {
    stop();
    int one = 1;
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    return std::move(fd_);
}

} // namespace enftun::router
