// SessionSlicer: the session list of `enftun-router status json`, written in
// slices across loop turns (control/answer.hpp) so that a long list (10,000
// sessions: 2.3 MB, ~60 ms to build in one piece) holds the forwarding loop
// for one slice at a time. Pure: sessions are looked up through a function.
//
// Sessions come and go between slices, so the slicer keeps no pointer into
// the router: it is given the addresses (the stable key: one session per
// address) of the sessions of the moment the answer began, oldest first,
// and looks each up again when its slice is written. A session that closed
// meanwhile is left out; one that replaced it at the same address is listed
// in its place; each address is listed at most once; sessions that came
// after the answer began are not listed (the next answer has them). The
// text stays one valid JSON object whatever changes.
//
// Memory: the addresses (16 bytes each, at most kJsonSessions: 160 KB) and
// one slice of text, instead of the whole answer.
//
//   first text: format_status_json_head(st)  '{"accepted":...,"session_list":['
//   next():     up to per_slice sessions      '{...},{...}'
//   last next() appends                       '],"sessions_omitted":N}\n'
#pragma once

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/router/router_status.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace enftun::router {

// Sessions looked up per slice: ~1.3 ms of the loop (bench/README.md
// "Control socket").
inline constexpr std::size_t kJsonSlice = 256;

// A little under one session's JSON (~230 B at 10,000 sessions): the
// answer's size hint for the budget (control/answer.hpp), per session.
inline constexpr std::size_t kSessionJsonBytes = 200;

class SessionSlicer {
public:
    // The session at an address now; nullopt: none (it closed).
    using Lookup = std::function<std::optional<SessionStatus>(const proto::Ipv6Addr&)>;

    // omitted: the sessions of that moment past the cap (not in addresses).
    SessionSlicer(std::vector<proto::Ipv6Addr> addresses, std::size_t omitted, Lookup lookup,
                  std::size_t per_slice = kJsonSlice);

    // Appends the next slice to out; false once it appended the end of the
    // object (then it must not be called again).
    bool next(std::string& out);

private:
    std::vector<proto::Ipv6Addr> addresses_;
    std::size_t omitted_;
    Lookup lookup_;
    std::size_t per_slice_;
    std::size_t next_ = 0;    // index into addresses_
    bool any_listed_ = false; // a comma before the next entry
};

} // namespace enftun::router
