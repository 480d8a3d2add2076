// enftun-keygen's command line, parsed and checked before anything else
// happens (no file read, no network): a usage error names the option or
// argument that is wrong, and the request (ADDRESS|PREFIX/64|auto) is
// fully validated here (request.hpp).
#pragma once

#include "request.hpp"

#include "enftun/util/result.hpp"

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
    EnrollRequest request;                 // Enroll, OfflineSign, CsrOut
    std::string ca_cert_file, ca_key_file; // OfflineSign
    long days = kDefaultDays;              // OfflineSign
    std::string csr_out;                   // CsrOut
};

// Errors: a usage message without the program name ("--days needs
// --ca-cert and --ca-key"); the caller prints it and the usage, exit 2.
Result<Options, std::string> parse_args(int argc, char** argv);

void print_usage(std::FILE* out);

} // namespace enftun::keygen
