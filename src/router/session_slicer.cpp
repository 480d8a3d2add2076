#include "enftun/router/session_slicer.hpp"

#include "enftun/router/status_format.hpp"

#include <algorithm>

namespace enftun::router {

SessionSlicer::SessionSlicer(std::vector<proto::Ipv6Addr> addresses, std::size_t omitted,
                             Lookup lookup, std::size_t per_slice)
    : addresses_(std::move(addresses)), omitted_(omitted), lookup_(std::move(lookup)),
      per_slice_(std::max<std::size_t>(per_slice, 1)) {}

bool SessionSlicer::next(std::string& out) {
    const std::size_t end = std::min(addresses_.size(), next_ + per_slice_);
    for (; next_ < end; ++next_) {
        std::optional<SessionStatus> s = lookup_(addresses_[next_]);
        if (!s) {
            continue; // closed since the answer began: not omitted, gone
        }
        if (any_listed_) {
            out += ',';
        }
        any_listed_ = true;
        out += format_session_json(*s);
    }
    if (next_ < addresses_.size()) {
        return true;
    }
    out += format_status_json_tail(omitted_);
    return false;
}

} // namespace enftun::router
