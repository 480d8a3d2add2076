// An error the service answers with: the HTTP status and the one-line
// message that goes into {"error": message}. Never holds a password or key.
#pragma once

#include "enftun/util/result.hpp"

#include <string>

namespace enftun::enroll {

struct ApiError {
    int status;
    std::string message;
};

template <typename T>
using ApiResult = Result<T, ApiError>;

} // namespace enftun::enroll
