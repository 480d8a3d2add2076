#include "enftun/router/session.hpp"

#include "enftun/router/router.hpp"

namespace enftun::router {

Session::Session(loop::Loop& loop, Router& router, tls::TlsStream stream, std::string peer,
                 tunnel::TlsLink::Options opts)
    : loop_(loop), router_(router), peer_(std::move(peer)), last_rx_ms_(loop.now_ms()),
      link_(loop, std::move(stream), *this, opts) {}

void Session::on_link_up() {
    last_rx_ms_ = loop_.now_ms();
    up_ms = last_rx_ms_;
    router_.on_session_up(*this);
}

void Session::on_frame(Bytes packet) {
    last_rx_ms_ = loop_.now_ms();
    router_.on_packet(*this, packet);
}

bool Session::on_gso_frame(Bytes packet, const framing::GsoMeta& gso) {
    last_rx_ms_ = loop_.now_ms();
    router_.on_packet(*this, packet, &gso);
    return true;
}

void Session::on_read_done(std::size_t frames) {
    router_.on_session_read_done(frames);
}

void Session::on_link_down(const char* reason) {
    router_.on_session_down(*this, reason);
}

} // namespace enftun::router
