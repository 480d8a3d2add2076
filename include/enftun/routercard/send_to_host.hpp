// SendToHost: how the router-card responders hand a generated packet to the
// host behind the TUN. The client implements it as one synchronous TUN
// write, so a reply is never queued: each responder reuses its buffer for
// the next reply as soon as the call returns.
#pragma once

#include <functional>

#include "enftun/util/bytes.hpp"

namespace enftun::tunnel {

// Writes one IPv6 packet to the host; false if the write failed.
using SendToHost = std::function<bool(Bytes packet)>;

// Asked before each answer to a message from the host (not before RAs):
// true if it may go out now (RouterCard's ReplyBudget). Empty: always.
using ReplyGate = std::function<bool()>;

} // namespace enftun::tunnel
