// IdentityWatch: keeps the client's certificate and key fresh while it runs.
//
// - Expiry: logs a warning at start and once a day while the certificate
//   expires within 30 days, an error naming the date once it has expired
//   (tls/cert_expiry.hpp).
// - Reload: enftun-keygen --renew replaces identity.cert_file and key_file
//   by rename. reload() (called before each connect) notices that either
//   file changed (device, inode, size, mtime) and builds a new TlsContext
//   from them; when they do not load, or name another address than the
//   one the TUN and filters were set up for, it logs why and the client
//   keeps the old identity. The folders of both files are watched
//   (inotify through uv_fs_event), so a change is also noticed at once:
//   after 500 ms of quiet the on_changed hook runs, and the client
//   reconnects with the new identity if it loads.
//
// Timers: the daily expiry check; the 500 ms settle timer after a file
// event (keygen renames the key, then the certificate).
#pragma once

#include "enftun/config/client_config.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tls/tls_context.hpp"

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace enftun::tunnel {

class IdentityWatch {
public:
    // self: the address the client runs with; on_changed runs after a file
    // event has settled.
    IdentityWatch(loop::Loop& loop, const config::IdentityConfig& identity,
                  const std::string& ca_cert_file, const proto::Ipv6Addr& self,
                  std::function<void()> on_changed);
    ~IdentityWatch();
    IdentityWatch(const IdentityWatch&) = delete;
    IdentityWatch& operator=(const IdentityWatch&) = delete;

    // Logs the expiry verdict, arms the daily check, watches the folders
    // (a folder that cannot be watched is logged; reload() still works).
    void start();
    void stop();

    // A new client TlsContext, judging the router by policy (the current
    // context's: pins must survive a renewal), when the files (or the CA
    // file) changed since the last call (or start) and load; nullopt
    // otherwise.
    std::optional<tls::TlsContext> reload(const tls::PeerPolicy& policy);

    // The config names other files (a config reload whose TlsContext the
    // client has already built from them): watch those from now on, their
    // present state counting as loaded.
    void retarget(const config::IdentityConfig& identity, const std::string& ca_cert_file);

private:
    struct FileId {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = 0;
        std::int64_t mtime_ns = 0;
        friend bool operator==(const FileId&, const FileId&) = default;
    };
    static FileId file_id(const std::string& path);
    void check_expiry();
    void watch_folder(const std::string& folder);
    void on_fs_event(const char* name);

    loop::Loop& loop_; // outlives the watch
    config::IdentityConfig identity_;
    std::string ca_cert_file_;
    proto::Ipv6Addr self_;
    std::function<void()> on_changed_;
    FileId cert_id_;
    FileId key_id_;
    FileId ca_id_; // remote.ca_cert_file: a new CA (a config reload) counts too
    loop::Timer daily_;
    loop::Timer settle_;
    std::vector<std::unique_ptr<loop::FsEvent>> watches_; // the folders of cert and key
};

} // namespace enftun::tunnel
