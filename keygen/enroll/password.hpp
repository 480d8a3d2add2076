// Login passwords: scrypt (RFC 7914) through OpenSSL 3's EVP_KDF, with a
// random 16-byte salt, stored with its parameters so they can be raised
// later without invalidating old hashes:
//
//   scrypt$<log2 N>$<r>$<p>$<salt, hex>$<32-byte hash, hex>
//
// The users file holds one "NAME:HASH" line per login (mode 0600, written
// atomically). Nothing here logs; a password is wiped after use by the
// caller's LoginRequest.
#pragma once

#include "common/failure.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace enftun::enroll {

struct ScryptParams {
    // N = 2^15, r = 8: 32 MiB and ~0.1 s per hash on a small server; the
    // service runs at most two at a time (service.cpp), so logins cannot
    // exhaust its memory.
    unsigned log2_n = 15;
    std::uint32_t r = 8;
    std::uint32_t p = 1;
};

// Errors: the KDF failed (out of memory, parameters OpenSSL refuses).
keygen::Outcome<std::string> hash_password(std::string_view password,
                                           const ScryptParams& params = {});

// True iff encoded is a well-formed hash of password. A malformed encoding,
// or parameters beyond what the service would ever set (N > 2^20, r > 32,
// p > 16: a tampered file must not make a login eat gigabytes), is false.
bool verify_password(std::string_view password, std::string_view encoded);

using Users = std::map<std::string, std::string, std::less<>>; // name -> encoded hash

// A missing file is no users. Errors: unreadable file; a line that is not
// "NAME:scrypt$..." with a valid name ("FILE:LINE: ..." in the message).
keygen::Outcome<Users> load_users(const std::string& path);
keygen::Outcome<void> save_users(const std::string& path, const Users& users);

} // namespace enftun::enroll
