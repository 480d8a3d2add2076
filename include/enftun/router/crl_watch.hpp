// CrlWatch: the router's certificate revocation list (router.crl_file).
//
// It owns the CRL in force. Loading one (at start, and whenever the file
// changes) checks that it is signed by the client CA, then gives the TLS
// context a fresh verification store holding the CA and that CRL, with
// X509_V_FLAG_CRL_CHECK: from then on a handshake with a revoked leaf fails.
// Sessions already up are the Router's: on_loaded tells it, and it closes
// those whose certificate is now listed (Router::close_revoked).
//
// Change detection: a 1-s timer stats the file and reloads when its inode,
// size or mtime differ. Polling rather than inotify, because the service
// replaces the file by rename (a watch on the old inode would go silent) and
// the folder may hold other busy files; one stat a second costs nothing.
// The 5-s promise (revoke to closed session) holds with room to spare.
//
// A CRL that fails to load or verify leaves the one in force and logs an
// error (once per change of the file). At start a missing or bad file is an
// error: a router told to check revocation must not run without it.
//
// Timers: poll_ (1 s, repeating while the watch lives).
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/tls/ssl_ptr.hpp"
#include "enftun/util/result.hpp"

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>

namespace enftun::router {

using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;

class CrlWatch {
public:
    using OnLoaded = std::function<void()>;
    static constexpr std::uint64_t kPollMs = 1000;

    // ctx (borrowed, must outlive the watch) gets the new store on each load.
    // Errors (logged): Identity when the CA or the CRL cannot be read, or the
    // CRL is not signed by the CA.
    static Result<std::unique_ptr<CrlWatch>> create(loop::Loop& loop, SSL_CTX* ctx,
                                                    std::string ca_file, std::string crl_file,
                                                    OnLoaded on_loaded);

    // Whether cert's serial is listed in the CRL in force.
    bool revoked(X509* cert) const;

private:
    CrlWatch(loop::Loop& loop, SSL_CTX* ctx, std::string ca_file, std::string crl_file,
             OnLoaded on_loaded);
    void on_poll();
    // Loads crl_file_ and installs it. Errors are logged.
    Status reload();

    SSL_CTX* ctx_; // borrowed
    std::string ca_file_;
    std::string crl_file_;
    OnLoaded on_loaded_;
    X509CrlPtr crl_;
    struct stat seen_ {}; // the file as last looked at (loaded or rejected)
    loop::Timer poll_;
};

} // namespace enftun::router
