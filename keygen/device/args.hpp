// enftun-keygen's command line, parsed and checked before anything else
// happens (no file read, no network): a usage error names the option or
// argument that is wrong, and the request (ADDRESS|PREFIX/64|auto, and
// --ipv4 auto|ADDR) is fully validated here, by the same parsers the
// service uses (common/address_request.hpp, common/ipv4.hpp).
#pragma once

#include "common/address_request.hpp"

#include "common/failure.hpp"
#include "common/ipv4.hpp"

#include <optional>
#include <string>

namespace enftun::keygen {

inline constexpr const char* kDefaultConfig = "/etc/enftun/enf0.conf";
inline constexpr long kDefaultDays = 365;

struct Options {
    enum class Mode { Enroll, Renew, OfflineSign, CsrOut, Help, Version };
    Mode mode = Mode::Enroll;
    std::string config = kDefaultConfig;
    std::string server;        // --server; "" = from the config
    std::string user;          // --user; "" = ask
    std::string password_file; // --password-file; "" = ask
    std::string owner;         // --owner; "" = enftun if it exists, else root
    bool yes = false;
    AddressRequest request;                // Enroll, OfflineSign, CsrOut
    std::optional<Ipv4Request> ipv4;       // --ipv4 (Enroll; OfflineSign: exact only)
    std::string ca_cert_file, ca_key_file; // OfflineSign
    long days = kDefaultDays;              // OfflineSign
    std::string csr_out;                   // CsrOut
    bool tpm = false;                      // --tpm: the key is made in the TPM
};

// Errors: a usage message without the program name ("--days needs
// --ca-cert and --ca-key"); the caller prints it and the usage, exit 2.
Outcome<Options> parse_args(int argc, char** argv);

void print_usage(std::FILE* out);

// The service URL when neither --server nor enroll.url says: "https://" +
// host (an IPv6 literal in brackets) + ":8443". host is remote.hosts[0].
std::string default_server_url(const std::string& host);

} // namespace enftun::keygen
