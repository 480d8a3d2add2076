// The device's identity files: who owns them, and writing the key (0600),
// the certificate (0644), optionally a CSR (0644) and the CA file (which
// keeps the mode and owner it has: it is not the device's to hand over;
// new, 0644 and the files' owner) all-or-nothing as far as POSIX allows:
// every file is staged (written, fsynced) before the first rename, so any
// failure before that leaves the files in place as they were. The key and
// certificate are staged under fixed names (KEY.pending, CERT.pending) and
// renamed in place key first, so that a crash between the two renames
// leaves what identity_repair.hpp completes; the CSR and the CA file
// follow.
#pragma once

#include "common/atomic_file.hpp"
#include "key_material.hpp"

#include <optional>
#include <string>

namespace enftun::keygen {

// Who owns the files written.
struct Ownership {
    std::optional<FileOwner> owner; // nullopt: leave them to us (our euid)
    std::string name;               // for the summary
};

// --owner NAME, or the default: the user enftun when it exists, else root
// (not running as root, the default leaves the files to us). Errors: an
// unknown --owner.
Outcome<Ownership> resolve_owner(const std::string& name);

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
Outcome<void> write_identity(const IdentityWrite& w, const std::optional<FileOwner>& owner);

// A renewal's new key lives in "KEY_FILE.pending" (0600, the key file's
// owner) from before its request is sent until its answer is stored, so
// that a renewal whose answer was lost is retried with the same key (the
// service then sends the same certificate again: README "Provisioning").
std::string pending_key_file(const std::string& key_file);
// Errors: as write_file_atomic.
Outcome<void> write_pending_key(const std::string& key_file, const SecretPem& key,
                                const std::optional<FileOwner>& owner);
// The pending key's text, or nullopt when there is none. Errors: unreadable.
// write_identity renames it in place once the answer is stored.
Outcome<std::optional<SecretPem>> read_pending_key(const std::string& key_file);

// "CERT_FILE.pending": the new certificate, staged before the key is
// renamed in place.
std::string pending_cert_file(const std::string& cert_file);
// Renames pending over path and fsyncs the folder. Errors: the step that
// failed, with strerror.
Outcome<void> commit_pending(const std::string& pending, const std::string& path);

} // namespace enftun::keygen
