// Result<T>: a value or an Error, shaped like C++23 std::expected so it can be
// swapped in later. Errors carry a code, the errno or SSL code saved at the
// failing call, and a static description (never heap-allocated, so the data
// path can fail without allocating).
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace enftun {

enum class Errc {
    Ok = 0,
    Truncated,   // input shorter than a header or length field says
    Malformed,   // a field holds a value the format forbids
    Unsupported, // well-formed but not something we handle
    NoSpace,     // a builder or buffer ran out of room
    WouldBlock,  // nonblocking I/O: try again when the fd is ready
    Closed,      // the peer closed the stream
    System,      // a syscall failed; see Error::sys
    Tls,         // OpenSSL failed; the error queue was logged
    Config,      // a configuration value is missing or invalid
    Identity,    // certificate or key unusable
    Timeout,     // a deadline expired
    NotFound,    // a lookup found nothing
    Refused,     // our own credentials refused: a wrong key password, a TPM in
                 // dictionary-attack lockout, a key the TPM will not load
};

struct Error {
    Errc code = Errc::Ok;
    int sys = 0;           // saved errno, or SSL_get_error() result
    const char* what = ""; // static string: what failed
};

[[nodiscard]] inline Error make_error(Errc code, const char* what, int sys = 0) {
    return Error{code, sys, what};
}

template <typename T, typename E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const {
        assert(!has_value());
        return std::get<1>(v_);
    }

private:
    std::variant<T, E> v_;
};

// Result<void>: success or an Error.
template <typename E>
class [[nodiscard]] Result<void, E> {
public:
    Result() = default;
    Result(E error) : err_(std::move(error)), ok_(false) {}

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const E& error() const {
        assert(!ok_);
        return err_;
    }

private:
    E err_{};
    bool ok_ = true;
};

using Status = Result<void>;

} // namespace enftun
