#include "enftun/tls/key_file.hpp"

#include "enftun/log/log.hpp"
#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace enftun::tls {

namespace {

std::vector<gid_t> process_groups() {
    std::vector<gid_t> groups{::getegid()};
    const int n = ::getgroups(0, nullptr);
    if (n > 0) {
        std::vector<gid_t> extra(static_cast<std::size_t>(n));
        const int got = ::getgroups(n, extra.data());
        if (got > 0) {
            groups.insert(groups.end(), extra.begin(), extra.begin() + got);
        }
    }
    return groups;
}

} // namespace

const char* check_key_mode(mode_t mode, gid_t file_gid, std::span<const gid_t> own_groups) {
    if ((mode & S_IRWXO) != 0) {
        return "accessible by others";
    }
    if ((mode & S_IWGRP) != 0) {
        return "writable by its group";
    }
    if ((mode & S_IRWXG) != 0 &&
        std::find(own_groups.begin(), own_groups.end(), file_gid) == own_groups.end()) {
        return "readable by a group this process is not in";
    }
    return nullptr;
}

Result<UniqueFd> open_key_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (forever).
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        const int err = errno;
        ENFTUN_LOG_ERROR("cannot read key file %s: %s", path.c_str(), strerror(err));
        return make_error(Errc::System, "cannot read key file", err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        const int err = errno;
        ENFTUN_LOG_ERROR("cannot stat key file %s: %s", path.c_str(), strerror(err));
        return make_error(Errc::System, "cannot stat key file", err);
    }
    if (!S_ISREG(st.st_mode)) {
        ENFTUN_LOG_ERROR("refusing key file %s: not a regular file", path.c_str());
        return make_error(Errc::Identity, "key file is not a regular file");
    }
    const auto groups = process_groups();
    if (const char* why = check_key_mode(st.st_mode, st.st_gid, groups); why != nullptr) {
        ENFTUN_LOG_ERROR("refusing key file %s: %s (mode %04o); allow only its owner "
                         "(chmod 600) or, read-only, a group of this service (chmod 640)",
                         path.c_str(), why, static_cast<unsigned>(st.st_mode & 07777));
        return make_error(Errc::Identity, "key file permissions too open");
    }
    return fd;
}

Result<PkeyPtr> load_private_key(const std::string& path) {
    auto fd = open_key_file(path);
    if (!fd) {
        return fd.error();
    }
    ERR_clear_error();
    // BIO_NOCLOSE: fd stays ours and closes once.
    BioPtr bio(BIO_new_fd(fd->get(), BIO_NOCLOSE));
    // No passphrase prompt: a daemon has no terminal to ask on.
    auto no_passphrase = [](char*, int, int, void*) noexcept { return 0; };
    PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                    : nullptr);
    if (!key) {
        ENFTUN_LOG_ERROR("cannot load private key %s: %s", path.c_str(), drain_errors().c_str());
        return make_error(Errc::Tls, "cannot load private key");
    }
    return key;
}

} // namespace enftun::tls
