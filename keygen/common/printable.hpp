// Text from a peer, made fit for a message or a log line: at most max bytes,
// anything but printable ASCII replaced by '?', so it can neither forge log
// lines nor flood them.
#pragma once

#include <string>
#include <string_view>

namespace enftun::keygen {

inline std::string printable(std::string_view text, std::size_t max = 64) {
    std::string out(text.substr(0, max));
    for (char& c : out) {
        if (c < 0x20 || c > 0x7e) {
            c = '?';
        }
    }
    return out;
}

} // namespace enftun::keygen
