#include "identity_files.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace enftun::keygen {

namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kPublicMode = 0644;

} // namespace

Outcome<Ownership> resolve_owner(const std::string& name) {
    const std::string who = name.empty() ? "enftun" : name;
    const passwd* pw = ::getpwnam(who.c_str());
    if (pw == nullptr && !name.empty()) {
        return Failure{"--owner: no such user: " + name};
    }
    if (pw == nullptr) {
        // No enftun user: root, which we can only set being root.
        return Ownership{
            ::geteuid() == 0 ? std::optional<FileOwner>(FileOwner{0, 0}) : std::nullopt, "root"};
    }
    return Ownership{FileOwner{pw->pw_uid, pw->pw_gid}, who};
}

Outcome<void> write_identity(const IdentityWrite& w, const std::optional<FileOwner>& owner) {
    // Every file is staged before any is renamed into place: a failure
    // half-way leaves the old identity whole.
    std::vector<fs::StagedFile> staged;
    auto stage = [&](const std::string& path, std::string_view data, mode_t mode,
                     const std::optional<FileOwner>& who) {
        auto f = fs::StagedFile::stage(path, data, mode, who);
        if (f) {
            staged.push_back(std::move(*f));
            return Outcome<void>();
        }
        return Outcome<void>(Failure{f.error().message});
    };
    if (auto st = stage(w.key_file, w.key->text(), kKeyMode, owner); !st) {
        return st;
    }
    for (const auto& [path, pem] :
         {std::pair{&w.cert_file, &w.cert_pem}, std::pair{&w.csr_file, &w.csr_pem}}) {
        if (path->empty()) {
            continue;
        }
        if (auto st = stage(*path, *pem, kPublicMode, owner); !st) {
            return st;
        }
    }
    if (!w.ca_file.empty()) {
        struct stat old {};
        const bool exists = ::stat(w.ca_file.c_str(), &old) == 0;
        const mode_t mode = exists ? (old.st_mode & 07777) : kPublicMode;
        const auto who =
            exists ? std::optional<FileOwner>(FileOwner{old.st_uid, old.st_gid}) : owner;
        if (auto st = stage(w.ca_file, w.ca_pem, mode, who); !st) {
            return st;
        }
    }
    for (auto& f : staged) {
        if (auto st = f.commit(); !st) {
            return Failure{st.error().message};
        }
    }
    return {};
}

std::string pending_key_file(const std::string& key_file) {
    return key_file + ".pending";
}

Outcome<void> write_pending_key(const std::string& key_file, const SecretPem& key,
                                const std::optional<FileOwner>& owner) {
    return write_file_atomic(pending_key_file(key_file), key.text(), kKeyMode, owner);
}

Outcome<std::optional<SecretPem>> read_pending_key(const std::string& key_file) {
    // A key file (PEM or TPM blob) is a few KiB.
    constexpr std::size_t kMaxKeyFile = 64 * 1024;
    bool missing = false;
    auto text = read_file(pending_key_file(key_file), kMaxKeyFile, &missing);
    if (!text) {
        if (missing) {
            return std::optional<SecretPem>();
        }
        return text.error();
    }
    return std::optional<SecretPem>(SecretPem(std::move(*text)));
}

void drop_pending_key(const std::string& key_file) {
    (void)::unlink(pending_key_file(key_file).c_str());
}

} // namespace enftun::keygen
