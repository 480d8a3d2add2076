// Unit tests for router/prelude's check of a connection's first 9 bytes:
// a TLS record header and a ClientHello header of a sane size.
#include "enftun/router/prelude.hpp"

#include "test.hpp"

using namespace enftun::router;

namespace {

struct Case {
    const char* name;
    const char* bytes;
    HelloPrefix want;
};

void test_hello_prefixes(void**) {
    const Case cases[] = {
        // OpenSSL 3's s_client: TLS 1.0 record version, a 0x138-byte hello.
        {"real ClientHello", "16 0301 013c 01 000138", HelloPrefix::Ok},
        {"TLS 1.2 record version", "16 0303 0200 01 0001fc", HelloPrefix::Ok},
        {"split: 4-byte record", "16 0301 0004 01 0001fc", HelloPrefix::Ok},
        {"at the limit", "16 0301 0004 01 004000", HelloPrefix::Ok},
        {"one past the limit", "16 0301 0004 01 004001", HelloPrefix::TooLarge},
        {"the 9-byte attack", "16 0301 0004 01 01ffff", HelloPrefix::TooLarge},
        {"24-bit maximum", "16 0301 0004 01 ffffff", HelloPrefix::TooLarge},
        {"application data", "17 0303 0020 01 000010", HelloPrefix::NotTls},
        {"alert", "15 0303 0002 02 280000", HelloPrefix::NotTls},
        {"not a ClientHello", "16 0301 0004 02 000010", HelloPrefix::NotTls},
        {"SSLv2-style hello", "80 2e01 0301 00 150000", HelloPrefix::NotTls},
        {"record version 2", "16 0201 0004 01 000010", HelloPrefix::NotTls},
        {"record too short", "16 0301 0003 01 000010", HelloPrefix::NotTls},
        {"record too long", "16 0301 4001 01 000010", HelloPrefix::NotTls},
        {"HTTP", "47 4554 202f 20 485454", HelloPrefix::NotTls},
    };
    for (const Case& c : cases) {
        auto bytes = hex(c.bytes);
        assert_int_equal(bytes.size(), kHelloPrefixLen);
        if (check_hello_prefix(bytes) != c.want) {
            print_error("%s: got %d, want %d\n", c.name,
                        static_cast<int>(check_hello_prefix(bytes)), static_cast<int>(c.want));
            fail();
        }
    }
}

void test_short_prefix_is_not_tls(void**) {
    auto bytes = hex("16 0301 0004 01 0000");
    assert_int_equal(static_cast<int>(check_hello_prefix(bytes)),
                     static_cast<int>(HelloPrefix::NotTls));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_prefixes),
        cmocka_unit_test(test_short_prefix_is_not_tls),
    };
    return cmocka_run_group_tests_name("prelude", tests, nullptr, nullptr);
}
