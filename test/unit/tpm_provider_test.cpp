// Unit tests for tls/tpm_provider without a TPM: the TCTI each identity.tpm
// names, and the checks made before the tpm2 provider is touched (the
// device node). The provider and the TPM themselves are tested end to end
// against a software TPM in test/netns/tpm_test.sh.
#include "enftun/tls/tpm_provider.hpp"

#include <cerrno>
#include <cstdlib>

#include "test.hpp"

using enftun::Errc;
using enftun::config::IdentityConfig;
using enftun::config::TpmConfig;
using enftun::tls::tpm_settings;
using enftun::tls::TpmProvider;
using enftun::tls::TpmSettings;

namespace {

void test_device_tcti(void**) {
    TpmConfig c; // the defaults: the kernel's resource manager
    const TpmSettings s = tpm_settings(c);
    assert_string_equal(s.tcti.c_str(), "device:/dev/tpmrm0");
    assert_string_equal(s.device.c_str(), "/dev/tpmrm0");
    assert_false(s.password.has_value());
    assert_int_equal(s.parent, 0);
    c.device = "/dev/tpm0";
    c.password = "pw";
    c.parent = 0x81000001;
    const TpmSettings t = tpm_settings(c);
    assert_string_equal(t.tcti.c_str(), "device:/dev/tpm0");
    assert_string_equal(t.password.value_or("").c_str(), "pw");
    assert_int_equal(t.parent, 0x81000001u);
}

// "socket" is the original's simulator (Microsoft protocol: TCTI mssim);
// "swtpm" the software TPM's own. No device node to check for either.
void test_socket_tctis(void**) {
    TpmConfig c;
    c.tcti = TpmConfig::Tcti::Socket;
    c.socket_host = "tpm.local";
    c.socket_port = 2400;
    TpmSettings s = tpm_settings(c);
    assert_string_equal(s.tcti.c_str(), "mssim:host=tpm.local,port=2400");
    assert_true(s.device.empty());
    c.tcti = TpmConfig::Tcti::Swtpm;
    s = tpm_settings(c);
    assert_string_equal(s.tcti.c_str(), "swtpm:host=tpm.local,port=2400");
    assert_true(s.device.empty());
}

void test_no_group_no_settings(void**) {
    IdentityConfig id;
    assert_false(tpm_settings(id).has_value());
    id.tpm = TpmConfig{};
    assert_true(tpm_settings(id).has_value());
}

// A device node that is not there fails before the provider is loaded:
// System with ENOENT, and TPM2OPENSSL_TCTI was not set for the provider.
void test_missing_device_fails_first(void**) {
    ::unsetenv("TPM2OPENSSL_TCTI");
    TpmConfig c;
    c.device = "/nonexistent/tpmrm0";
    auto p = TpmProvider::load(tpm_settings(c));
    assert_false(p.has_value());
    assert_int_equal(static_cast<int>(p.error().code), static_cast<int>(Errc::System));
    assert_int_equal(p.error().sys, ENOENT);
    assert_null(std::getenv("TPM2OPENSSL_TCTI"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_tcti),
        cmocka_unit_test(test_socket_tctis),
        cmocka_unit_test(test_no_group_no_settings),
        cmocka_unit_test(test_missing_device_fails_first),
    };
    return cmocka_run_group_tests_name("tpm_provider", tests, nullptr, nullptr);
}
