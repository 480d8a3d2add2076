// Fuzz target: the fast RFC 1071 sum against the obvious byte-pair version,
// over the whole input, at every start offset 0..7, and in even-length chunks
// whose sizes come from the input itself.
#include <cstddef>
#include <cstdint>

#include "enftun/proto/checksum.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

std::uint16_t reference(Bytes d) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < d.size(); i += 2) {
        const unsigned lo = i + 1 < d.size() ? d[i + 1] : 0;
        sum += (unsigned{d[i]} << 8) | lo;
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint16_t fast(Bytes d) {
    return proto::checksum_fold(proto::checksum_add(0, d));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes in(data, size);
    for (std::size_t off = 0; off < 8 && off <= size; ++off) {
        FUZZ_CHECK(fast(in.subspan(off)) == reference(in.subspan(off)));
    }
    // Chunk sizes: 2 * (each byte % 16), a zero meaning "the rest".
    std::uint32_t sum = 0;
    std::size_t pos = 0;
    for (std::size_t i = 0; pos < size; ++i) {
        std::size_t n = 2 * (in[i % size] % 16u);
        if (n == 0 || n > size - pos) {
            n = size - pos;
        }
        sum = proto::checksum_add(sum, in.subspan(pos, n));
        pos += n;
    }
    FUZZ_CHECK(proto::checksum_fold(sum) == reference(in));
    return 0;
}
