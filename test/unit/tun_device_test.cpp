// Unit tests for tun/tun_device on a real TUN: what offload_name() and
// takes_gso() report is what the kernel took. The test process moves into a
// private network namespace (unshare(CLONE_NEWNET)), so its TUNs are seen by
// nobody else and vanish with it; skipped without CAP_SYS_ADMIN/CAP_NET_ADMIN
// or without /dev/net/tun. The kernel's view of a device's offloads is read
// back with the ethtool ioctls (ETHTOOL_GSTRINGS, ETHTOOL_GFEATURES): the
// features TUNSETOFFLOAD turns on (tun.c set_offload) are
//   TUN_F_CSUM  tx-checksum-ip-generic   TUN_F_TSO6  tx-tcp6-segmentation
//   TUN_F_TSO4  tx-tcp-segmentation      TUN_F_USO*  tx-udp-segmentation
// A kernel that refuses the offloads (TUNSETOFFLOAD takes CSUM and TSO on
// every kernel with IFF_VNET_HDR) is made with a seccomp filter on the
// opening thread that fails TUNSETOFFLOAD with EINVAL for any flags but 0,
// as test/netns/tools/no_uso.py does for USO; on a persistent TUN that an
// earlier open left with offloads on, to show they are cleared.
#include "enftun/tun/tun_device.hpp"

#include <linux/audit.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "test.hpp"

using namespace enftun::tun;

namespace {

const char* const kDevNode = "/dev/net/tun";
const char* g_skip_reason = nullptr;

int group_setup(void**) {
    if (::access(kDevNode, R_OK | W_OK) != 0) {
        g_skip_reason = "no /dev/net/tun";
    } else if (::unshare(CLONE_NEWNET) != 0) {
        g_skip_reason = "no private network namespace (needs CAP_SYS_ADMIN)";
    }
    return 0;
}

void skip_if_unable() {
    if (g_skip_reason != nullptr) {
        print_message("skipped: %s\n", g_skip_reason);
        skip();
    }
}

// The device's active features by name (ethtool -k), or nullopt when the
// ioctls fail. The structs end in flexible arrays: built in byte buffers.
std::optional<std::map<std::string, bool>> kernel_features(const std::string& dev) {
    enftun::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, dev.c_str(), dev.size());
    auto call = [&](std::vector<char>& buf) {
        ifr.ifr_data = buf.data();
        return ::ioctl(sock.get(), SIOCETHTOOL, &ifr) == 0;
    };

    ethtool_sset_info sset{};
    sset.cmd = ETHTOOL_GSSET_INFO;
    sset.sset_mask = 1ULL << ETH_SS_FEATURES;
    std::vector<char> buf(sizeof sset + sizeof(std::uint32_t));
    std::memcpy(buf.data(), &sset, sizeof sset);
    if (!sock.valid() || !call(buf)) {
        return std::nullopt;
    }
    std::uint32_t count = 0;
    std::memcpy(&count, buf.data() + sizeof sset, sizeof count);

    ethtool_gstrings strings{};
    strings.cmd = ETHTOOL_GSTRINGS;
    strings.string_set = ETH_SS_FEATURES;
    strings.len = count;
    std::vector<char> names(sizeof strings + count * ETH_GSTRING_LEN);
    std::memcpy(names.data(), &strings, sizeof strings);
    if (!call(names)) {
        return std::nullopt;
    }

    // struct ethtool_gfeatures: cmd, size, then size blocks (written by
    // hand: a variable of its type, with a zero-length array, is an
    // extension clang's -Wpedantic refuses).
    const std::uint32_t blocks = (count + 31) / 32;
    const std::uint32_t head[2] = {ETHTOOL_GFEATURES, blocks};
    std::vector<char> bits(sizeof head + blocks * sizeof(ethtool_get_features_block));
    std::memcpy(bits.data(), head, sizeof head);
    if (!call(bits)) {
        return std::nullopt;
    }

    std::map<std::string, bool> out;
    for (std::uint32_t i = 0; i < count; ++i) {
        const char* name = names.data() + sizeof strings + i * ETH_GSTRING_LEN;
        ethtool_get_features_block block{};
        std::memcpy(&block, bits.data() + sizeof head + (i / 32) * sizeof block, sizeof block);
        out[std::string(name, strnlen(name, ETH_GSTRING_LEN))] = (block.active >> (i % 32)) & 1U;
    }
    return out;
}

// The TUN's offloads as the kernel has them, and as TunDevice reports them.
void check_matches_kernel(const TunDevice& tun) {
    auto f = kernel_features(tun.name());
    assert_true(f.has_value());
    const unsigned long flags = tun.offloads().flags;
    assert_int_equal((*f)["tx-checksum-ip-generic"], (flags & kTunFCsum) != 0);
    assert_int_equal((*f)["tx-tcp6-segmentation"], tun.offloads().tso());
    assert_int_equal((*f)["tx-tcp-segmentation"], (flags & kTunFTso4) != 0);
    if (f->count("tx-udp-segmentation") != 0) {
        assert_int_equal((*f)["tx-udp-segmentation"], tun.offloads().uso());
    }
    const char* name = !(*f)["tx-tcp6-segmentation"] ? "none"
                       : (*f)["tx-udp-segmentation"] ? "tso+uso"
                                                     : "tso";
    assert_string_equal(tun.offload_name(), name);
}

// With offloads asked for: the header is on, the kernel took TSO (every
// kernel with IFF_VNET_HDR has it), and the name and takes_gso() follow
// what it took; TSO4 only when asked (tso4).
void test_offloads_are_what_the_kernel_took(void**) {
    skip_if_unable();
    for (bool tso4 : {true, false}) {
        auto tun = TunDevice::open(kDevNode, tso4 ? "ettest4" : "ettest6",
                                   TunOptions{.offload = true, .tso4 = tso4});
        assert_true(tun.has_value());
        assert_true(tun->offload());
        assert_true(tun->offloads().tso());
        assert_int_equal((tun->offloads().flags & kTunFTso4) != 0, tso4);
        check_matches_kernel(*tun);
        assert_true(tun->takes_gso(kGsoTcpV6));
        assert_int_equal(tun->takes_gso(kGsoUdpL4), tun->offloads().uso());
    }
}

// Without offloads: no header, none on in the kernel, "none", and no
// super-packet is ever written whole.
void test_no_offloads(void**) {
    skip_if_unable();
    auto tun = TunDevice::open(kDevNode, "ettest0", TunOptions{.offload = false});
    assert_true(tun.has_value());
    assert_false(tun->offload());
    assert_int_equal(tun->offloads().flags, 0);
    check_matches_kernel(*tun);
    assert_string_equal(tun->offload_name(), "none");
    assert_false(tun->takes_gso(kGsoTcpV6));
    assert_false(tun->takes_gso(kGsoTcpV4));
    assert_false(tun->takes_gso(kGsoUdpL4));
}

#if defined(__x86_64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t kAuditArch = 0; // the refusal test is skipped
#endif

// On the calling thread only (no SECCOMP_FILTER_FLAG_TSYNC): TUNSETOFFLOAD
// with flags other than 0 fails with EINVAL, as on a kernel without the
// offloads; every other call is allowed. The arguments' low words are read
// (little-endian, both architectures above).
bool refuse_offloads_on_this_thread() {
    const auto arg_lo = [](int i) {
        return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * i);
    };
    sock_filter insns[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 0, 6),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_lo(1)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(TUNSETOFFLOAD), 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_lo(2)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof insns / sizeof insns[0]), insns};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// A TUN that takes the virtio-net header but refuses every offload: the
// header stays on, offload_name() says "none", no super-packet may be
// written whole, and the offloads an earlier open left on a persistent
// device are off in the kernel.
void test_refused_offloads_are_none(void**) {
    skip_if_unable();
    if (kAuditArch == 0) {
        print_message("skipped: no seccomp filter for this architecture\n");
        skip();
    }
    {
        auto first =
            TunDevice::open(kDevNode, "ettestp", TunOptions{.offload = true, .tso4 = true});
        assert_true(first.has_value());
        assert_true(first->offloads().tso());
        assert_int_equal(::ioctl(first->fd(), TUNSETPERSIST, 1UL), 0);
    }
    assert_true(kernel_features("ettestp").value()["tx-tcp6-segmentation"]); // left on

    std::optional<enftun::Result<TunDevice>> opened;
    bool filtered = false;
    std::thread([&] {
        filtered = refuse_offloads_on_this_thread();
        if (filtered) {
            opened.emplace(
                TunDevice::open(kDevNode, "ettestp", TunOptions{.offload = true, .tso4 = true}));
        }
    }).join();
    assert_true(filtered);
    assert_true(opened->has_value());
    TunDevice& tun = **opened;
    assert_true(tun.offload());
    assert_int_equal(tun.offloads().flags, 0);
    assert_string_equal(tun.offload_name(), "none");
    assert_false(tun.takes_gso(kGsoTcpV6));
    assert_false(tun.takes_gso(kGsoTcpV4));
    assert_false(tun.takes_gso(kGsoUdpL4));
    check_matches_kernel(tun); // every offload off: cleared
    assert_int_equal(::ioctl(tun.fd(), TUNSETPERSIST, 0UL), 0);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_offloads_are_what_the_kernel_took),
        cmocka_unit_test(test_no_offloads),
        cmocka_unit_test(test_refused_offloads_are_none),
    };
    return cmocka_run_group_tests_name("tun_device", tests, group_setup, nullptr);
}
