#include "enftun/tls/key_usage.hpp"

namespace enftun::tls {

namespace {
// RFC 8446 §5.1: a record carries at most 2^14 bytes of plaintext.
constexpr std::size_t kMaxFragment = 16384;
} // namespace

void KeyUsage::wrote(std::size_t bytes) {
    sent_ += (bytes + kMaxFragment - 1) / kMaxFragment;
}

void KeyUsage::renewed(bool asked_peer) {
    sent_ = 0;
    ++renewals_;
    if (asked_peer) {
        // Not again before another four thresholds, answered or not: a peer
        // that ignores the request gets no flood of them.
        received_ = 0;
        ++requests_;
    }
}

} // namespace enftun::tls
