// Result<std::string, std::string> cannot tell a value from an error, so
// functions that return text report their errors as a Problem.
#pragma once

#include "enftun/util/result.hpp"

#include <string>

namespace enftun::keygen {

struct Problem {
    std::string message;
};

using TextResult = Result<std::string, Problem>;

} // namespace enftun::keygen
