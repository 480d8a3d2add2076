// Listener: one listening TCP socket, accepting connections without
// blocking. Each accepted socket is handed to the owner, nonblocking and
// close-on-exec, with TCP_NODELAY set.
//
// Lifetime: owned by the router; on_accept must not destroy the listener.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace enftun::router {

class Listener {
public:
    using OnAccept = std::function<void(UniqueFd fd, const sockaddr_storage& peer)>;

    // Binds address:port ("::" listens on IPv6 and IPv4). Errors: System.
    static Result<std::unique_ptr<Listener>> create(loop::Loop& loop, const std::string& address,
                                                    std::uint16_t port, OnAccept on_accept);
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    std::string describe() const { return name_; }
    // Stops accepting (e.g. at max_sessions) or starts again.
    void pause(bool paused);

private:
    Listener(loop::Loop& loop, UniqueFd fd, std::string name, OnAccept on_accept);
    void on_readable();

    UniqueFd fd_;
    std::string name_;
    OnAccept on_accept_;
    loop::Poll poll_;
    loop::Timer resume_; // re-enables accepting after a resource error
    bool paused_ = false;
};

} // namespace enftun::router
