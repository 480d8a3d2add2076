// cmocka 1.1.5 (Debian bookworm) declares its functions without an
// extern "C" block, so C++ tests fail to link against libcmocka. Including
// <cmocka.h> here first, inside extern "C", makes its include guard turn the
// plain include in test.hpp into a no-op. Include this instead of test.hpp.
// TODO(#cmocka-cxx): fold into test.hpp and delete this file.
#pragma once

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

#include "test.hpp"
