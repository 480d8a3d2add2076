#include "identity_files.hpp"

#include "test_pause.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
    // half-way leaves the old identity whole (and, from a renewal, the new
    // key pending for its retry).
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
    if (!w.csr_file.empty()) {
        if (auto st = stage(w.csr_file, w.csr_pem, kPublicMode, owner); !st) {
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
    // The pair, in the order identity_repair.hpp relies on.
    if (auto st = write_pending_key(w.key_file, *w.key, owner); !st) {
        return st;
    }
    const std::string cert_pending = pending_cert_file(w.cert_file);
    if (!w.cert_file.empty()) {
        if (auto st = write_file_atomic(cert_pending, w.cert_pem, kPublicMode, owner); !st) {
            return st;
        }
        test_pause("cert-staged");
    }
    if (auto st = commit_pending(pending_key_file(w.key_file), w.key_file); !st) {
        return st;
    }
    if (!w.cert_file.empty()) {
        test_pause("key-renamed");
        if (auto st = commit_pending(cert_pending, w.cert_file); !st) {
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

std::string pending_cert_file(const std::string& cert_file) {
    return cert_file + ".pending";
}

Outcome<void> commit_pending(const std::string& pending, const std::string& path) {
    if (::rename(pending.c_str(), path.c_str()) != 0) {
        return Failure{"cannot rename " + pending + " onto " + path + ": " + std::strerror(errno)};
    }
    const auto slash = path.rfind('/');
    const std::string folder =
        slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return Failure{"cannot open the folder of " + path + ": " + std::strerror(errno)};
    }
    const bool synced = ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!synced) {
        return Failure{"cannot fsync the folder of " + path + ": " + std::strerror(err)};
    }
    return {};
}

} // namespace enftun::keygen
