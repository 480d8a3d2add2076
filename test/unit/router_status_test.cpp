// Unit tests for router/router_status: the handshake failure kinds (their
// label names and the classification of TlsLink's reasons).
#include "enftun/router/router_status.hpp"

#include <set>
#include <string>

#include "test.hpp"

using namespace enftun::router;

namespace {

void test_names_are_distinct_label_values(void**) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < kHandshakeFailureKinds; ++i) {
        std::string name(handshake_failure_name(static_cast<HandshakeFailure>(i)));
        assert_false(name.empty());
        for (char c : name) {
            assert_true((c >= 'a' && c <= 'z') || c == '_');
        }
        names.insert(name);
    }
    assert_int_equal(names.size(), kHandshakeFailureKinds);
    assert_string_equal(std::string(handshake_failure_name(HandshakeFailure::PerSourceCap)).c_str(),
                        "per_source_cap");
    assert_string_equal(std::string(handshake_failure_name(HandshakeFailure::TlsError)).c_str(),
                        "tls_error");
}

void test_link_reasons(void**) {
    const struct {
        const char* reason;
        bool refused;
        HandshakeFailure kind;
    } cases[] = {
        {"TLS handshake timed out", false, HandshakeFailure::Timeout},
        {"TLS handshake failed: peer sent close_notify", false, HandshakeFailure::PeerClosed},
        {"TLS handshake failed: the peer ended the TCP connection without ending TLS", false,
         HandshakeFailure::PeerClosed},
        {"TLS handshake failed: Connection reset by peer", false, HandshakeFailure::PeerClosed},
        {"TLS handshake failed: error:0A0000C7:SSL routines::peer did not return a certificate",
         false, HandshakeFailure::Certificate},
        {"TLS handshake failed: peer certificate: unable to get local issuer certificate ()", false,
         HandshakeFailure::Certificate},
        // The PeerPolicy's own words need not name a certificate.
        {"TLS handshake failed: address fd00:e::1 is reserved", true,
         HandshakeFailure::Certificate},
        {"TLS handshake failed: error:0A00010B:SSL routines::wrong version number", false,
         HandshakeFailure::TlsError},
        {"socket error", false, HandshakeFailure::TlsError},
        {"", false, HandshakeFailure::TlsError},
    };
    for (const auto& c : cases) {
        if (classify_link_failure(c.reason, c.refused) != c.kind) {
            fail_msg("%s: got %s", c.reason,
                     std::string(handshake_failure_name(classify_link_failure(c.reason, c.refused)))
                         .c_str());
        }
    }
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_distinct_label_values),
        cmocka_unit_test(test_link_reasons),
    };
    return cmocka_run_group_tests_name("router_status", tests, nullptr, nullptr);
}
