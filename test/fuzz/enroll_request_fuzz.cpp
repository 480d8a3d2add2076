// Fuzz target: enftun-enroll's request parsing (keygen/enroll/request.hpp):
// the JSON bodies of /v1/login, /v1/enroll and /v1/renew, the CSRs in them
// (PEM, self-signature, key policy) and the address requests (IPv6 and
// the optional IPv4). The first
// byte picks the endpoint, the rest is the body, as an unauthenticated peer
// would send it. Checks that every refusal is a 400 or 413 with a one-line
// message, and that what is accepted is what the parsers promise.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "enroll/request.hpp"
#include "fuzz_check.hpp"

using namespace enftun::enroll;

namespace {

template <typename T>
bool refused_well(const ApiResult<T>& r) {
    if (r.has_value()) {
        return false;
    }
    const auto& e = r.error();
    FUZZ_CHECK(e.status == 400 || e.status == 413);
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.message.find('\n') == std::string::npos);
    return true;
}

void check_csr(const enftun::keygen::CheckedCsr& csr) {
    FUZZ_CHECK(csr.req != nullptr);
    FUZZ_CHECK(csr.key != nullptr);
    FUZZ_CHECK(enftun::keygen::check_key_policy(csr.key.get()).has_value());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 3) {
    case 0: {
        auto r = parse_login(body);
        if (!refused_well(r)) {
            FUZZ_CHECK(is_valid_user_name(r->user));
            FUZZ_CHECK(!r->password.empty() && r->password.size() <= 1024);
        }
        break;
    }
    case 1: {
        auto r = parse_enroll(body);
        if (!refused_well(r)) {
            check_csr(r->csr);
            // The request's text form parses back to the same request.
            auto again = enftun::keygen::parse_address_request(r->request.to_string());
            FUZZ_CHECK(again.has_value());
            FUZZ_CHECK(again->kind == r->request.kind && again->addr == r->request.addr);
            if (r->ipv4) {
                // Only "auto" or a routable unicast address gets through.
                auto v4 = enftun::keygen::parse_ipv4_request(r->ipv4->to_string());
                FUZZ_CHECK(v4.has_value() && v4->kind == r->ipv4->kind &&
                           v4->addr == r->ipv4->addr);
                FUZZ_CHECK(v4->kind == enftun::keygen::Ipv4Request::Kind::Auto ||
                           enftun::proto::is_routable_unicast(v4->addr));
            }
        }
        break;
    }
    default: {
        auto r = parse_renew(body);
        if (!refused_well(r)) {
            check_csr(r->csr);
        }
        break;
    }
    }
    return 0;
}
