#include "identity_repair.hpp"

#include "identity_files.hpp"

#include "enftun/fs/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enftun::keygen {

namespace {

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

// Whether the certificate in cert_path is for the key in key_path.
// Errors: either does not load.
Outcome<bool> pair_matches(const std::string& key_path, const std::string& cert_path,
                           const KeySource& keys) {
    auto cert = load_cert_file(cert_path);
    if (!cert) {
        return cert.error();
    }
    auto key = keys.load_made(key_path);
    if (!key) {
        return Failure{key_path + ": " + key.error().message};
    }
    return EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) == 1;
}

} // namespace

Outcome<Repair> repair_identity(const std::string& key_file, const std::string& cert_file,
                                const KeySource& keys) {
    const std::string key_pending = pending_key_file(key_file);
    const std::string cert_pending = pending_cert_file(cert_file);
    if (!exists(cert_pending)) {
        return Repair{}; // steps 1-2 not done, or 4 done: a whole pair in place
    }
    const bool key_staged = exists(key_pending);
    // Crash before step 3: the staged pair; between 3 and 4: KEY with the
    // staged certificate.
    const std::string& key_path = key_staged ? key_pending : key_file;
    auto matches = pair_matches(key_path, cert_pending, keys);
    if (!matches) {
        return Failure{"cannot complete the interrupted replacement of " + key_file + " and " +
                       cert_file + ": " + matches.error().message};
    }
    if (!*matches) {
        // Not the certificate of that key: nothing to complete with it.
        (void)::unlink(cert_pending.c_str());
        return Repair{"removed " + cert_pending + ", which is not for " + key_path +
                      " (a leftover of an interrupted enftun-keygen)"};
    }
    if (key_staged) {
        if (auto st = commit_pending(key_pending, key_file); !st) {
            return st.error();
        }
    }
    if (auto st = commit_pending(cert_pending, cert_file); !st) {
        return st.error();
    }
    return Repair{"completed the replacement of " + key_file + " and " + cert_file +
                  " that an interrupted enftun-keygen left " +
                  (key_staged ? "staged" : "half done (the key replaced, not the certificate)")};
}

} // namespace enftun::keygen
