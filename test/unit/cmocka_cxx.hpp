// Kept for tests that include it: test.hpp is the one cmocka include.
#pragma once

#include "test.hpp"
