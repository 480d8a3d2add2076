// ClientState: the enftun client's connection states and the one table of
// transitions between them (pure: no loop, no I/O; client.cpp applies it and
// logs every change). The TUN stays up in every state.
//
//   Connecting ──Connected──► Handshaking ──TlsUp──► Confirming ──FirstFrame──► Up
//     ▲   │                        │                     │                      │
//     │   └ConnectFailed┐          └───────LinkDown──────┴──────────────────────┘
//     │                 ▼                                │
//     └──RetryDue── BackingOff ◄─────────────────────────┘
//
//   any state ──Stop──► Stopped (final)
//
// Confirming: our side of the handshake is done, but under TLS 1.3 the
// router checks our certificate after our Finished; the tunnel is up only
// once its first frame arrives (client.cpp, on_link_up). LinkDown covers
// every end of a link: error, EOF, refusal, heartbeat timeout, bad frame,
// route change, renewed identity. BackingOff: the retry timer is armed
// (a short one when a network change or new identity asks for a retry now).
#pragma once

#include <optional>

namespace enftun::tunnel {

enum class ClientState { Connecting, Handshaking, Confirming, Up, BackingOff, Stopped };

enum class ClientEvent {
    Connected,     // a TCP connection to a remote host: the link exists
    ConnectFailed, // no host answered, or the TLS stream could not be made
    TlsUp,         // the link's handshake finished on our side
    FirstFrame,    // the router's first frame: it accepted us
    LinkDown,      // the link ended, for whatever reason
    RetryDue,      // the retry timer fired: the connector starts again
    Stop,          // graceful stop
};

// The state `event` leads to from `from`, or nullopt if the event has no
// meaning there (the client then ignores it).
std::optional<ClientState> client_transition(ClientState from, ClientEvent event);

// Lower-case names for logs ("backing off").
const char* to_string(ClientState state);
// The same as a JSON and metric label value ("backing_off").
const char* to_label(ClientState state);
const char* to_string(ClientEvent event);

} // namespace enftun::tunnel
