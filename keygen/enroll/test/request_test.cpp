// Request parsing (JSON bodies, CSRs, address requests) and the CSR key
// policy: what /v1/login, /v1/enroll and /v1/renew accept and the 400
// messages for what they refuse.
#include "enroll/request.hpp"

#include "csr_helpers.hpp"
#include "test.hpp"

#include <nlohmann/json.hpp>

using namespace enftun::enroll;
using enftun::keygen::AddressRequest;

namespace {

std::string enroll_body(const std::string& csr, const std::string& request) {
    return nlohmann::json{{"csr", csr}, {"request", request}}.dump();
}

void assert_400(const ApiResult<EnrollRequest>& r, const char* text) {
    assert_false(r.has_value());
    assert_int_equal(r.error().status, 400);
    if (r.error().message.find(text) == std::string::npos) {
        print_error("message '%s' lacks '%s'\n", r.error().message.c_str(), text);
        fail();
    }
}

void test_login_parses(void**) {
    auto r = parse_login(R"({"user": "ops@example", "password": "pw", "extra": 1})");
    assert_true(r.has_value());
    assert_string_equal(r->user.c_str(), "ops@example");
    assert_string_equal(r->password.c_str(), "pw");
}

void test_login_errors(void**) {
    struct Case {
        const char* body;
        const char* message;
    };
    const Case cases[] = {
        {"", "body is not valid JSON"},
        {"{\"user\": ", "body is not valid JSON"},
        {"[1, 2]", "body must be a JSON object"},
        {"{\"password\": \"x\"}", "field \"user\" is missing"},
        {"{\"user\": 5, \"password\": \"x\"}", "field \"user\" must be a string"},
        {"{\"user\": \"a\"}", "field \"password\" is missing"},
        {"{\"user\": \"a b\", \"password\": \"x\"}",
         "field \"user\" must be 1 to 64 of A-Z a-z 0-9 . _ - @ +"},
        {"{\"user\": \"a:b\", \"password\": \"x\"}",
         "field \"user\" must be 1 to 64 of A-Z a-z 0-9 . _ - @ +"},
        {"{\"user\": \"a\", \"password\": \"\"}", "field \"password\" must be 1 to 1024 bytes"},
    };
    for (const auto& c : cases) {
        auto r = parse_login(c.body);
        assert_false(r.has_value());
        assert_int_equal(r.error().status, 400);
        assert_string_equal(r.error().message.c_str(), c.message);
    }
}

void test_oversize_body_is_413(void**) {
    const std::string body(kMaxBodyBytes + 1, ' ');
    auto r = parse_login(body);
    assert_false(r.has_value());
    assert_int_equal(r.error().status, 413);
}

void test_enroll_parses_each_request_kind(void**) {
    const std::string csr = test_csr::csr_for("P-256");
    auto a = parse_enroll(enroll_body(csr, "auto"));
    assert_true(a.has_value());
    assert_true(a->request.kind == AddressRequest::Kind::Auto);
    auto e = parse_enroll(enroll_body(csr, "fd00:e::5"));
    assert_true(e.has_value());
    assert_true(e->request.kind == AddressRequest::Kind::Exact);
    assert_string_equal(e->request.addr.to_string().c_str(), "fd00:e::5");
    auto p = parse_enroll(enroll_body(csr, "fd00:e:0:1::/64"));
    assert_true(p.has_value());
    assert_true(p->request.kind == AddressRequest::Kind::Prefix64);
    assert_string_equal(p->request.to_string().c_str(), "fd00:e:0:1::/64");
}

void test_enroll_rejects_bad_requests(void**) {
    const std::string csr = test_csr::csr_for("P-256");
    assert_400(parse_enroll(enroll_body(csr, "fd00::zz")), "fd00::zz is not an IPv6 address");
    assert_400(parse_enroll(enroll_body(csr, "fd00::/65")), "only a /64 can be requested");
    assert_400(parse_enroll(enroll_body(csr, "fd00::/48")), "only a /64 can be requested");
    assert_400(parse_enroll(enroll_body(csr, "fd00::1/64")), "bits set after the /64");
    assert_400(parse_enroll(enroll_body(csr, "fd00::/6x")), "prefix length must be a number");
    assert_400(parse_enroll(enroll_body(csr, "ff02::1")), "not a global or unique-local");
    assert_400(parse_enroll(enroll_body(csr, "::")), "not a global or unique-local");
    assert_400(parse_enroll(enroll_body(csr, "fe80::1")), "not a global or unique-local");
    assert_400(parse_enroll(R"({"csr": "x"})"), "field \"request\" is missing");
    assert_400(parse_enroll(R"({"request": "auto"})"), "field \"csr\" is missing");
}

// The optional "ipv4" field: absent, null, "auto", one address; anything
// else a 400 naming it.
void test_enroll_ipv4_field(void**) {
    using enftun::keygen::Ipv4Request;
    const std::string csr = test_csr::csr_for("P-256");
    auto none = parse_enroll(enroll_body(csr, "auto"));
    assert_true(none.has_value());
    assert_false(none->ipv4.has_value());
    const auto with_ipv4 = [&](const nlohmann::json& ipv4) {
        return parse_enroll(
            nlohmann::json{{"csr", csr}, {"request", "auto"}, {"ipv4", ipv4}}.dump());
    };
    assert_false(with_ipv4(nullptr)->ipv4.has_value());
    auto a = with_ipv4("auto");
    assert_true(a.has_value());
    assert_true(a->ipv4->kind == Ipv4Request::Kind::Auto);
    auto e = with_ipv4("198.18.0.5");
    assert_true(e.has_value());
    assert_true(e->ipv4->kind == Ipv4Request::Kind::Exact);
    assert_string_equal(e->ipv4->to_string().c_str(), "198.18.0.5");
    assert_400(with_ipv4(5), "field \"ipv4\" must be a string");
    assert_400(with_ipv4("198.18.0.0/24"), "ipv4: 198.18.0.0/24: give one IPv4 address");
    assert_400(with_ipv4("127.0.0.1"), "ipv4: 127.0.0.1 is not a routable unicast IPv4 address");
    assert_400(with_ipv4("fd00::5"), "ipv4: fd00::5 is not an IPv4 address or \"auto\"");
}

void test_csr_key_policy(void**) {
    struct Case {
        const char* kind;
        bool allowed;
    };
    const Case cases[] = {{"P-256", true},     {"P-384", true},  {"ed25519", true},
                          {"rsa2048", true},   {"P-521", false}, {"rsa1024", false},
                          {"secp256k1", false}};
    for (const auto& c : cases) {
        auto r = parse_enroll(enroll_body(test_csr::csr_for(c.kind), "auto"));
        if (r.has_value() != c.allowed) {
            print_error("key %s: expected %s\n", c.kind, c.allowed ? "allowed" : "refused");
            fail();
        }
        if (!c.allowed) {
            assert_400(r, "key must be EC P-256/P-384, Ed25519 or RSA >= 2048 bits");
        }
    }
}

void test_csr_bad_pem_and_bad_signature(void**) {
    assert_400(parse_enroll(enroll_body("hello", "auto")), "not a PEM certificate request");
    assert_400(parse_enroll(enroll_body("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                        "-----END CERTIFICATE REQUEST-----\n",
                                        "auto")),
               "not a PEM certificate request");
    // Signed by another key than the one it carries: proves nothing.
    auto key = test_csr::make_key("P-256");
    auto other = test_csr::make_key("P-256");
    assert_400(parse_enroll(enroll_body(test_csr::csr_pem(key.get(), other.get()), "auto")),
               "self-signature does not verify");
}

void test_renew_parses(void**) {
    auto r = parse_renew(nlohmann::json{{"csr", test_csr::csr_for("P-384")}}.dump());
    assert_true(r.has_value());
    assert_non_null(r->csr.key.get());
    auto bad = parse_renew(R"({"csr": 1})");
    assert_false(bad.has_value());
    assert_string_equal(bad.error().message.c_str(), "field \"csr\" must be a string");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_parses),
        cmocka_unit_test(test_login_errors),
        cmocka_unit_test(test_oversize_body_is_413),
        cmocka_unit_test(test_enroll_parses_each_request_kind),
        cmocka_unit_test(test_enroll_rejects_bad_requests),
        cmocka_unit_test(test_enroll_ipv4_field),
        cmocka_unit_test(test_csr_key_policy),
        cmocka_unit_test(test_csr_bad_pem_and_bad_signature),
        cmocka_unit_test(test_renew_parses),
    };
    return cmocka_run_group_tests_name("enroll_request", tests, nullptr, nullptr);
}
