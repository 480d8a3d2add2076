#include "enroll/password.hpp"

#include "common/atomic_file.hpp"
#include "enroll/request.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <vector>

namespace enftun::enroll {

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr unsigned kMaxLog2N = 20;
constexpr std::uint32_t kMaxR = 32;
constexpr std::uint32_t kMaxP = 16;
constexpr std::size_t kMaxUsersFile = 1 << 20;

std::string to_hex(const std::uint8_t* data, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 15];
    }
    return out;
}

bool from_hex(std::string_view text, std::vector<std::uint8_t>& out) {
    if (text.size() % 2 != 0) {
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < text.size(); i += 2) {
        std::uint8_t b = 0;
        const auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, b, 16);
        if (ec != std::errc() || end != text.data() + i + 2) {
            return false;
        }
        out.push_back(b);
    }
    return true;
}

bool scrypt(std::string_view password, const std::uint8_t* salt, std::size_t salt_len,
            const ScryptParams& params, std::uint8_t* out, std::size_t out_len) {
    using KdfPtr = std::unique_ptr<EVP_KDF, Free<EVP_KDF_free>>;
    using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Free<EVP_KDF_CTX_free>>;
    KdfPtr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
    KdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
    if (!ctx) {
        ERR_clear_error();
        return false;
    }
    std::uint64_t n = std::uint64_t{1} << params.log2_n;
    std::uint32_t r = params.r;
    std::uint32_t p = params.p;
    const OSSL_PARAM list[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          const_cast<char*>(password.data()), password.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt),
                                          salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_end(),
    };
    const bool ok = EVP_KDF_derive(ctx.get(), out, out_len, list) == 1;
    ERR_clear_error();
    return ok;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

} // namespace

keygen::Outcome<std::string> hash_password(std::string_view password, const ScryptParams& params) {
    std::array<std::uint8_t, kSaltBytes> salt{};
    std::array<std::uint8_t, kHashBytes> hash{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1 ||
        !scrypt(password, salt.data(), salt.size(), params, hash.data(), hash.size())) {
        ERR_clear_error();
        return keygen::Failure{"cannot hash the password (scrypt failed)"};
    }
    std::string out = "scrypt$" + std::to_string(params.log2_n) + "$" + std::to_string(params.r) +
                      "$" + std::to_string(params.p) + "$" + to_hex(salt.data(), salt.size()) +
                      "$" + to_hex(hash.data(), hash.size());
    OPENSSL_cleanse(hash.data(), hash.size());
    return out;
}

bool verify_password(std::string_view password, std::string_view encoded) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto dollar = encoded.find('$', start);
        parts.push_back(encoded.substr(start, dollar - start));
        if (dollar == std::string_view::npos) {
            break;
        }
        start = dollar + 1;
    }
    ScryptParams params;
    std::vector<std::uint8_t> salt;
    std::vector<std::uint8_t> expected;
    if (parts.size() != 6 || parts[0] != "scrypt" || !parse_number(parts[1], params.log2_n) ||
        !parse_number(parts[2], params.r) || !parse_number(parts[3], params.p) ||
        params.log2_n < 1 || params.log2_n > kMaxLog2N || params.r < 1 || params.r > kMaxR ||
        params.p < 1 || params.p > kMaxP || !from_hex(parts[4], salt) || salt.empty() ||
        !from_hex(parts[5], expected) || expected.size() != kHashBytes) {
        return false;
    }
    std::array<std::uint8_t, kHashBytes> got{};
    if (!scrypt(password, salt.data(), salt.size(), params, got.data(), got.size())) {
        return false;
    }
    const bool same = CRYPTO_memcmp(got.data(), expected.data(), kHashBytes) == 0;
    OPENSSL_cleanse(got.data(), got.size());
    return same;
}

keygen::Outcome<Users> load_users(const std::string& path) {
    bool missing = false;
    auto text = keygen::read_file(path, kMaxUsersFile, &missing);
    if (!text) {
        if (missing) {
            return Users{};
        }
        return text.error();
    }
    Users users;
    std::string_view rest = *text;
    for (unsigned line_no = 1; !rest.empty(); ++line_no) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto colon = line.find(':');
        const std::string where = path + ":" + std::to_string(line_no) + ": ";
        if (colon == std::string_view::npos || !is_valid_user_name(line.substr(0, colon)) ||
            line.substr(colon + 1).substr(0, 7) != "scrypt$") {
            return keygen::Failure{where + "not a NAME:scrypt$... line"};
        }
        users.insert_or_assign(std::string(line.substr(0, colon)),
                               std::string(line.substr(colon + 1)));
    }
    return users;
}

keygen::Outcome<void> save_users(const std::string& path, const Users& users) {
    std::string text = "# enftun-enroll logins: NAME:scrypt$log2N$r$p$salt$hash "
                       "(managed by `enftun-enroll user add|del`)\n";
    for (const auto& [name, hash] : users) {
        text += name + ":" + hash + "\n";
    }
    return keygen::write_file_atomic(path, text, 0600, keygen::folder_owner_if_root(path));
}

} // namespace enftun::enroll
