#include "identity_files.hpp"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace enftun::keygen {

namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kPublicMode = 0644;

} // namespace

Result<FileOwner, std::string> resolve_owner(const std::string& name) {
    const std::string who = name.empty() ? "enftun" : name;
    const passwd* pw = ::getpwnam(who.c_str());
    if (pw == nullptr && !name.empty()) {
        return "--owner: no such user: " + name;
    }
    if (pw == nullptr) {
        // No enftun user: root, which we can only set being root.
        return FileOwner{0, 0, ::geteuid() == 0};
    }
    return FileOwner{pw->pw_uid, pw->pw_gid, true};
}

Result<void, std::string> write_identity(const IdentityWrite& w, const FileOwner& owner) {
    std::vector<StagedFile> staged;
    auto stage = [&](const std::string& path, std::string_view data, mode_t mode) {
        auto f = StagedFile::stage(path, data, mode, owner);
        if (f) {
            staged.push_back(std::move(*f));
            return Result<void, std::string>();
        }
        return Result<void, std::string>(f.error());
    };
    if (auto st = stage(w.key_file, w.key->text(), kKeyMode); !st) {
        return st;
    }
    for (const auto& [path, pem] :
         {std::pair{&w.cert_file, &w.cert_pem}, std::pair{&w.ca_file, &w.ca_pem},
          std::pair{&w.csr_file, &w.csr_pem}}) {
        if (path->empty()) {
            continue;
        }
        if (auto st = stage(*path, *pem, kPublicMode); !st) {
            return st;
        }
    }
    for (auto& f : staged) {
        if (auto st = f.commit(); !st) {
            return st;
        }
    }
    return {};
}

} // namespace enftun::keygen
