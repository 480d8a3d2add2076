// The service's request bodies (notes/enroll-api.md, API v1): JSON text in,
// checked requests out. Unknown fields are ignored; a missing or wrongly
// typed field is a 400 naming it. No HTTP here (so the fuzz target links
// it): the handlers in service.cpp pass the body and send back the error.
#pragma once

#include "common/address_request.hpp"
#include "common/csr.hpp"
#include "common/ipv4.hpp"
#include "enroll/api_error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace enftun::enroll {

// Largest request body the service reads (larger: 413 before parsing).
inline constexpr std::size_t kMaxBodyBytes = 65536;

struct LoginRequest {
    std::string user;
    std::string password; // wiped by the destructor
    ~LoginRequest();
    LoginRequest() = default;
    LoginRequest(LoginRequest&&) = default;
    LoginRequest& operator=(LoginRequest&&) = default;
};

struct EnrollRequest {
    keygen::CheckedCsr csr;
    keygen::AddressRequest request;
    // Optional field "ipv4": "auto" or one address; none: no IPv4 asked.
    std::optional<keygen::Ipv4Request> ipv4;
};

struct RenewRequest {
    keygen::CheckedCsr csr;
};

// Each returns the request or ApiError{400, reason}: "body is not valid
// JSON", "body must be a JSON object", "field \"csr\" is missing",
// "field \"csr\" must be a string", a CSR or address reason
// (keygen/common/csr.hpp, address_request.hpp, ipv4.hpp).
// A login name: 1 to 64 of A-Z a-z 0-9 . _ - @ + (the users and state files
// separate fields by ':' and white space).
bool is_valid_user_name(std::string_view user);

ApiResult<LoginRequest> parse_login(std::string_view body);
ApiResult<EnrollRequest> parse_enroll(std::string_view body);
ApiResult<RenewRequest> parse_renew(std::string_view body);

} // namespace enftun::enroll
