// Common include for cmocka unit tests. cmocka 1.1 needs these three headers
// before <cmocka.h>. A failed assert longjmps out of the test and skips C++
// destructors: keep owning state in setup/teardown, not in locals.
#pragma once

// cmocka defines a fail() macro that breaks std::ios_base::fail(): pull in
// the standard headers that declare it (directly or through <chrono>,
// <string>, ...) before cmocka, so tests may include anything afterwards.
#include <chrono>
#include <functional>
#include <ios>
#include <memory>
#include <string>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
// cmocka 1.1's header declares print_error() and friends without C linkage.
extern "C" {
#include <cmocka.h>
}
// clang-format on

#include <cstdint>
#include <vector>

// Builds a byte vector from a hex string such as "60 00 00 00"; spaces ignored.
inline std::vector<std::uint8_t> hex(const char* s) {
    std::vector<std::uint8_t> out;
    int hi = -1;
    for (; *s != '\0'; ++s) {
        char c = *s;
        int v = -1;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    return out;
}
