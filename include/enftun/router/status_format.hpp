// The router's answers to the control requests (control/request.hpp),
// printed from a RouterStatus snapshot (router_status.hpp); pure: no I/O.
//
//   status        a short table: totals, limits hit, then one line per
//                 session, at most kTextSessions of them (the oldest); an
//                 IPV4 column only when a listed session has an inner IPv4
//   status json   one JSON object (README "Router status" lists the
//                 fields), at most kJsonSessions sessions in session_list;
//                 session_list and sessions_omitted come last, so the
//                 router can write the list in slices (session_slicer.hpp)
//   metrics       OpenMetrics text: totals only, no per-session series (a
//                 label per client would make one series per client for
//                 Prometheus to keep; the JSON has them)
//
// The caps bound the answer: with 10,000 sessions the table stays a screen,
// the JSON about 3 MB; a longer list is cut, and sessions_omitted (JSON) or
// a last line (table) says how many were left out.
#pragma once

#include "enftun/router/router_status.hpp"

#include <cstddef>
#include <string>

namespace enftun::router {

inline constexpr std::size_t kTextSessions = 20;
inline constexpr std::size_t kJsonSessions = 10000;

// The snapshot must list at most kTextSessions sessions (more are ignored,
// and counted as omitted).
std::string format_status_text(const RouterStatus& st);
std::string format_status_json(const RouterStatus& st);
std::string format_metrics(const RouterStatus& st);

// format_status_json in pieces, for an answer written in slices
// (session_slicer.hpp): head + session, session, ... + tail is
// format_status_json's text. The head is every field but session_list and
// sessions_omitted (st.session_list is ignored), and opens the list.
std::string format_status_json_head(const RouterStatus& st);
std::string format_session_json(const SessionStatus& s);
std::string format_status_json_tail(std::size_t sessions_omitted);

} // namespace enftun::router
