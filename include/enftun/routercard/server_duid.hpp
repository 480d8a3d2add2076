// The DHCPv6 server DUID of the router card (RFC 8415 §11), kept in a file
// (identity.duid_file, by default "duid" next to the certificate) so hosts
// see the same server across restarts.
//
// A new DUID is a DUID-UUID (RFC 6355, type 4) holding a random version-4
// UUID (RFC 9562 §5.4): a TUN has no hardware address for a DUID-LL/LLT,
// and a random UUID needs no enterprise number. The file holds the DUID as
// hex digits on one line ("0004" + 32 digits for ours); any DUID of 3..130
// bytes written there by hand is used as it is.
//
// Writing follows keygen's rule: a temp file created 0600 (umask 077
// semantics), written, fsync'd, then renamed over the old name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "enftun/fs/atomic_file.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::tunnel {

inline constexpr std::uint16_t kDuidTypeUuid = 4; // RFC 6355 §4

// Reads the DUID stored at `path`; if there is none, makes one and stores
// it. Never fails: when the file cannot be read or written (or holds no
// DUID) it logs a warning and returns a fresh DUID, stored if possible.
std::vector<std::uint8_t> load_or_create_server_duid(const std::string& path);

// A new DUID-UUID from the system's random source.
std::vector<std::uint8_t> make_random_duid();

// Hex text ("00040123...") ⇄ DUID. parse_duid_text accepts hex digits,
// optionally separated by ':', and surrounding whitespace; nullopt if the
// text is not a DUID of 3..130 bytes.
std::optional<std::vector<std::uint8_t>> parse_duid_text(std::string_view text);
std::string format_duid_text(Bytes duid);

// Stores `duid` at `path`, mode 0600 (fs::write_file_atomically: temp
// file, fsync, rename, folder fsync). Errors: its FileError.
[[nodiscard]] fs::FileResult<void> store_duid(const std::string& path, Bytes duid);

} // namespace enftun::tunnel
