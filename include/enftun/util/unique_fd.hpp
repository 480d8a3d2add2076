// UniqueFd owns one file descriptor and closes it exactly once.
// C-API deleters: std::unique_ptr<T, Free<fn>> for OpenSSL, libmnl, etc.
#pragma once

#include <unistd.h>

#include <utility>

namespace enftun {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset(std::exchange(o.fd_, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Deleter for C objects freed by a function: unique_ptr<SSL, Free<SSL_free>>.
template <auto Fn>
struct Free {
    template <typename T>
    void operator()(T* p) const noexcept {
        if (p != nullptr) {
            Fn(p);
        }
    }
};

} // namespace enftun
