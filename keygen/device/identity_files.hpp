// The device's identity files: who owns them, and writing the key (0600),
// the certificate (0644), optionally the CA file (0644) and a CSR (0644)
// all-or-nothing as far as POSIX allows: every file is staged (written,
// fsynced) before the first rename, so any failure before that writes
// nothing; the renames follow each other, key first.
#pragma once

#include "atomic_file.hpp"
#include "key_material.hpp"

#include <optional>
#include <string>

namespace enftun::keygen {

// --owner NAME, or the default: the user enftun when it exists, else root.
// Not running as root, the default leaves the files to us. Errors: an
// unknown --owner.
Result<FileOwner, std::string> resolve_owner(const std::string& name);

struct IdentityWrite {
    std::string key_file;
    const SecretPem* key = nullptr; // required
    std::string cert_file;          // "" = none
    std::string cert_pem;
    std::string ca_file; // "" = none
    std::string ca_pem;
    std::string csr_file; // "" = none
    std::string csr_pem;
};

// Errors: the first failure, with the file it concerns.
Result<void, std::string> write_identity(const IdentityWrite& w, const FileOwner& owner);

} // namespace enftun::keygen
