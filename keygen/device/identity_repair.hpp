// Completing a replacement of the device's key and certificate that a
// crash interrupted. write_identity (identity_files.hpp) replaces them in a
// fixed order, every step durable before the next:
//
//   1. KEY.pending  the new key        (a renewal writes it before its request)
//   2. CERT.pending the new certificate
//   3. KEY.pending  -> KEY             (rename)
//   4. CERT.pending -> CERT            (rename)
//
// so a crash leaves one of: no CERT.pending (KEY and CERT are the old pair,
// or the new one; a KEY.pending alone is a renewal in flight, kept for its
// retry); KEY.pending and CERT.pending (crash before 3: the old pair in
// place, the new one staged); CERT.pending alone (crash between 3 and 4:
// KEY is new, CERT old: they do not match, and enftun would not start).
// repair_identity() rolls the last two forward, once it has checked that
// the staged certificate is for the key it is paired with (by public key);
// a CERT.pending that matches nothing is removed, and the pair in place is
// left as it is. Every enftun-keygen run calls it first.
#pragma once

#include "common/failure.hpp"
#include "tpm_key.hpp"

#include <string>

namespace enftun::keygen {

// What repair_identity() did, for one line on stdout ("" when nothing).
struct Repair {
    std::string done;
};

// key_file and cert_file: the config's identity files; keys loads a key
// file (a PEM key, or a TPM blob through the TPM) to compare it with a
// certificate. Errors: a rename or folder fsync that fails; a key or
// certificate that cannot be read (then nothing is changed).
Outcome<Repair> repair_identity(const std::string& key_file, const std::string& cert_file,
                                const KeySource& keys);

} // namespace enftun::keygen
