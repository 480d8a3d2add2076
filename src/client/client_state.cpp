#include "enftun/client/client_state.hpp"

namespace enftun::tunnel {

std::optional<ClientState> client_transition(ClientState from, ClientEvent event) {
    using S = ClientState;
    using E = ClientEvent;
    if (from == S::Stopped) {
        return std::nullopt; // final
    }
    if (event == E::Stop) {
        return S::Stopped;
    }
    switch (from) {
    case S::Connecting:
        if (event == E::Connected) {
            return S::Handshaking;
        }
        if (event == E::ConnectFailed) {
            return S::BackingOff;
        }
        return std::nullopt;
    case S::Handshaking:
        if (event == E::TlsUp) {
            return S::Confirming;
        }
        break;
    case S::Confirming:
        if (event == E::FirstFrame) {
            return S::Up;
        }
        break;
    case S::Up:
        break;
    case S::BackingOff:
        if (event == E::RetryDue) {
            return S::Connecting;
        }
        return std::nullopt;
    case S::Stopped:
        return std::nullopt;
    }
    // A link exists in Handshaking, Confirming and Up.
    if (event == E::LinkDown) {
        return S::BackingOff;
    }
    return std::nullopt;
}

namespace {

// Each state's two names: for logs, and for the status JSON and the metrics'
// state label (a label value: no space).
struct StateNames {
    const char* log;
    const char* label;
};

StateNames names_of(ClientState state) {
    switch (state) {
    case ClientState::Connecting:
        return {"connecting", "connecting"};
    case ClientState::Handshaking:
        return {"handshaking", "handshaking"};
    case ClientState::Confirming:
        return {"confirming", "confirming"};
    case ClientState::Up:
        return {"up", "up"};
    case ClientState::BackingOff:
        return {"backing off", "backing_off"};
    case ClientState::Stopped:
        return {"stopped", "stopped"};
    }
    return {"?", "?"};
}

} // namespace

const char* to_string(ClientState state) {
    return names_of(state).log;
}

const char* to_label(ClientState state) {
    return names_of(state).label;
}

const char* to_string(ClientEvent event) {
    switch (event) {
    case ClientEvent::Connected:
        return "connected";
    case ClientEvent::ConnectFailed:
        return "connect failed";
    case ClientEvent::TlsUp:
        return "TLS up";
    case ClientEvent::FirstFrame:
        return "first frame";
    case ClientEvent::LinkDown:
        return "link down";
    case ClientEvent::RetryDue:
        return "retry due";
    case ClientEvent::Stop:
        return "stop";
    }
    return "?";
}

} // namespace enftun::tunnel
