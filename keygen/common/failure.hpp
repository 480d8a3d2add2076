// The error type of the provisioning code: one line for a human, already
// complete ("cannot read /etc/enftun/ca.key: Permission denied"). The
// service maps it to an HTTP status where one applies (enroll/api_error.hpp).
#pragma once

#include "enftun/util/result.hpp"

#include <string>

namespace enftun::keygen {

struct Failure {
    std::string message;
};

template <typename T>
using Outcome = Result<T, Failure>;

} // namespace enftun::keygen
