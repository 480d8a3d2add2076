#include "enftun/client/identity_watch.hpp"

#include "enftun/log/log.hpp"
#include "enftun/tls/cert_expiry.hpp"
#include "enftun/tls/identity.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace enftun::tunnel {

namespace {

constexpr std::uint64_t kDayMs = 24ULL * 60 * 60 * 1000;
constexpr std::uint64_t kSettleMs = 500;

std::string folder_of(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

std::string base_of(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

} // namespace

IdentityWatch::IdentityWatch(loop::Loop& loop, const config::IdentityConfig& identity,
                             const std::string& ca_cert_file, const proto::Ipv6Addr& self,
                             std::function<void()> on_changed)
    : loop_(loop), identity_(identity), ca_cert_file_(ca_cert_file), self_(self),
      on_changed_(std::move(on_changed)), cert_id_(file_id(identity.cert_file)),
      key_id_(file_id(identity.key_file)), ca_id_(file_id(ca_cert_file)),
      daily_(loop, [this] { check_expiry(); }), settle_(loop, [this] { on_changed_(); }) {}

IdentityWatch::~IdentityWatch() {
    stop();
}

IdentityWatch::FileId IdentityWatch::file_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return {};
    }
    return {st.st_dev, st.st_ino, st.st_size,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void IdentityWatch::start() {
    check_expiry();
    watch_folder(folder_of(identity_.cert_file));
    // A key in a TPM's persistent handle ("handle:0x81000001") has no file.
    const bool key_is_file = !identity_.tpm || identity_.key_file.rfind("handle:", 0) != 0;
    if (key_is_file && folder_of(identity_.key_file) != folder_of(identity_.cert_file)) {
        watch_folder(folder_of(identity_.key_file));
    }
}

void IdentityWatch::stop() {
    daily_.stop();
    settle_.stop();
    watches_.clear();
}

void IdentityWatch::check_expiry() {
    daily_.start(kDayMs);
    auto not_after = tls::cert_not_after(identity_.cert_file);
    if (!not_after) {
        ENFTUN_LOG_WARN("certificate %s: %s", identity_.cert_file.c_str(), not_after.error().what);
        return;
    }
    const auto verdict =
        tls::judge_expiry(*not_after, static_cast<std::int64_t>(std::time(nullptr)));
    const std::string msg = tls::expiry_message(verdict, identity_.cert_file, *not_after);
    if (verdict.state == tls::Expiry::Expired) {
        ENFTUN_LOG_ERROR("%s", msg.c_str());
    } else if (verdict.state == tls::Expiry::Soon) {
        ENFTUN_LOG_WARN("%s", msg.c_str());
    }
}

void IdentityWatch::watch_folder(const std::string& folder) {
    auto watch =
        std::make_unique<loop::FsEvent>(loop_, [this](const char* name) { on_fs_event(name); });
    if (const int rc = watch->start(folder); rc != 0) {
        ENFTUN_LOG_WARN("cannot watch %s for a renewed identity (%s): it is picked up at the "
                        "next reconnect",
                        folder.c_str(), uv_strerror(rc));
        return;
    }
    watches_.push_back(std::move(watch));
}

void IdentityWatch::on_fs_event(const char* name) {
    if (name == nullptr ||
        (name != base_of(identity_.cert_file) && name != base_of(identity_.key_file))) {
        return;
    }
    settle_.start(kSettleMs); // wait for the certificate after the key
}

void IdentityWatch::retarget(const config::IdentityConfig& identity,
                             const std::string& ca_cert_file) {
    stop();
    identity_ = identity;
    ca_cert_file_ = ca_cert_file;
    cert_id_ = file_id(identity_.cert_file);
    key_id_ = file_id(identity_.key_file);
    ca_id_ = file_id(ca_cert_file_);
    start();
}

std::optional<tls::TlsContext> IdentityWatch::reload(const tls::PeerPolicy& policy) {
    const FileId cert = file_id(identity_.cert_file);
    const FileId key = file_id(identity_.key_file);
    const FileId ca = file_id(ca_cert_file_);
    if (cert == cert_id_ && key == key_id_ && ca == ca_id_) {
        return std::nullopt;
    }
    cert_id_ = cert;
    key_id_ = key;
    ca_id_ = ca;
    auto addr = tls::address_from_cert_file(identity_.cert_file);
    if (!addr) {
        ENFTUN_LOG_ERROR("identity %s changed but cannot be used (%s): keeping the old one",
                         identity_.cert_file.c_str(), addr.error().what);
        return std::nullopt;
    }
    if (!(*addr == self_)) {
        ENFTUN_LOG_ERROR("identity %s now holds %s, not %s: restart enftun to change address; "
                         "keeping the old identity",
                         identity_.cert_file.c_str(), addr->to_string().c_str(),
                         self_.to_string().c_str());
        return std::nullopt;
    }
    auto ctx = tls::TlsContext::create(tls::Role::Client,
                                       {ca_cert_file_, identity_.cert_file, identity_.key_file},
                                       policy, tls::tpm_settings(identity_));
    if (!ctx) {
        ENFTUN_LOG_ERROR("identity %s changed but does not load (%s): keeping the old one",
                         identity_.cert_file.c_str(), ctx.error().what);
        return std::nullopt;
    }
    auto not_after = tls::cert_not_after(identity_.cert_file);
    ENFTUN_LOG_INFO("identity reloaded from %s (valid until %s)", identity_.cert_file.c_str(),
                    not_after ? tls::format_utc(*not_after).c_str() : "?");
    check_expiry();
    return std::move(*ctx);
}

} // namespace enftun::tunnel
