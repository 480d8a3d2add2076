#include "enroll/request.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

namespace enftun::enroll {

namespace {

using Json = nlohmann::json;

// A user name: the state file and the users file separate fields by white
// space and ':', and log lines quote it, so only these characters.
constexpr std::size_t kMaxUserLength = 64;
constexpr std::size_t kMaxPasswordLength = 1024;

ApiError bad_request(std::string message) {
    return ApiError{400, std::move(message)};
}

ApiResult<Json> parse_object(std::string_view body) {
    if (body.size() > kMaxBodyBytes) {
        return ApiError{413, "request body larger than 65536 bytes"};
    }
    // No exceptions: parse errors give a discarded value. Depth is bounded
    // by the body size (nlohmann recurses once per nesting level, 64 KiB of
    // '[' is well within the threads' stack).
    Json doc = Json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded()) {
        return bad_request("body is not valid JSON");
    }
    if (!doc.is_object()) {
        return bad_request("body must be a JSON object");
    }
    return doc;
}

ApiResult<std::string> string_field(const Json& doc, const char* name) {
    const auto it = doc.find(name);
    if (it == doc.end()) {
        return bad_request(std::string("field \"") + name + "\" is missing");
    }
    if (!it->is_string()) {
        return bad_request(std::string("field \"") + name + "\" must be a string");
    }
    return it->get<std::string>();
}

ApiResult<keygen::CheckedCsr> csr_field(const Json& doc) {
    auto text = string_field(doc, "csr");
    if (!text) {
        return text.error();
    }
    auto csr = keygen::parse_csr(*text);
    if (!csr) {
        return bad_request(csr.error().message);
    }
    return std::move(csr).value();
}

// The optional "ipv4" field: absent (or null) is no IPv4.
ApiResult<std::optional<keygen::Ipv4Request>> ipv4_field(const Json& doc) {
    const auto it = doc.find("ipv4");
    if (it == doc.end() || it->is_null()) {
        return std::optional<keygen::Ipv4Request>{};
    }
    if (!it->is_string()) {
        return bad_request("field \"ipv4\" must be a string");
    }
    auto request = keygen::parse_ipv4_request(it->get_ref<const std::string&>());
    if (!request) {
        return bad_request("ipv4: " + request.error().message);
    }
    return std::optional<keygen::Ipv4Request>{*request};
}

bool valid_user_name(std::string_view user) {
    if (user.empty() || user.size() > kMaxUserLength) {
        return false;
    }
    for (const char c : user) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@' ||
                        c == '+';
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace

bool is_valid_user_name(std::string_view user) {
    return valid_user_name(user);
}

LoginRequest::~LoginRequest() {
    if (!password.empty()) {
        OPENSSL_cleanse(password.data(), password.size());
    }
}

ApiResult<LoginRequest> parse_login(std::string_view body) {
    auto doc = parse_object(body);
    if (!doc) {
        return doc.error();
    }
    LoginRequest out;
    auto user = string_field(*doc, "user");
    if (!user) {
        return user.error();
    }
    auto password = string_field(*doc, "password");
    if (!password) {
        return password.error();
    }
    out.user = std::move(*user);
    out.password = std::move(*password);
    // The parsed document still holds a copy of the password: wipe it too.
    auto& in_doc = (*doc)["password"].get_ref<std::string&>();
    OPENSSL_cleanse(in_doc.data(), in_doc.size());
    if (!valid_user_name(out.user)) {
        return bad_request("field \"user\" must be 1 to 64 of A-Z a-z 0-9 . _ - @ +");
    }
    if (out.password.empty() || out.password.size() > kMaxPasswordLength) {
        return bad_request("field \"password\" must be 1 to 1024 bytes");
    }
    return out;
}

ApiResult<EnrollRequest> parse_enroll(std::string_view body) {
    auto doc = parse_object(body);
    if (!doc) {
        return doc.error();
    }
    // Every field's presence and type first, then the cheap address check,
    // and only then the CSR, whose signature check costs the most.
    auto csr_text = string_field(*doc, "csr");
    if (!csr_text) {
        return csr_text.error();
    }
    auto text = string_field(*doc, "request");
    if (!text) {
        return text.error();
    }
    auto request = keygen::parse_address_request(*text);
    if (!request) {
        return bad_request("request: " + request.error().message);
    }
    auto ipv4 = ipv4_field(*doc);
    if (!ipv4) {
        return ipv4.error();
    }
    auto csr = keygen::parse_csr(*csr_text);
    if (!csr) {
        return bad_request(csr.error().message);
    }
    return EnrollRequest{std::move(csr).value(), *request, *ipv4};
}

ApiResult<RenewRequest> parse_renew(std::string_view body) {
    auto doc = parse_object(body);
    if (!doc) {
        return doc.error();
    }
    auto csr = csr_field(*doc);
    if (!csr) {
        return csr.error();
    }
    return RenewRequest{std::move(csr).value()};
}

} // namespace enftun::enroll
