// Hexadecimal digits: the one decoder the config values (MAC addresses,
// hex numbers), the server DUID file and the key pins share.
#pragma once

namespace enftun {

// The value of one hex digit (either case), or -1 if c is not one.
constexpr int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

} // namespace enftun
