#!/usr/bin/env python3
"""no_uso.py CMD [ARGS...]: runs CMD as a kernel without UDP segmentation
offload on TUN (before Linux 6.2) would: a seccomp filter makes
ioctl(fd, TUNSETOFFLOAD, flags) fail with EINVAL whenever flags hold
TUN_F_USO4 or TUN_F_USO6, as such a kernel does; everything else is
untouched. For uso_test.sh (x86_64 only: exits 77 elsewhere).
"""
import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_IOCTL = 16  # x86_64
TUNSETOFFLOAD = 0x400454D0
TUN_F_USO = 0x20 | 0x40
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

# BPF opcodes (linux/bpf_common.h)
LD_W_ABS = 0x20
JEQ_K = 0x15
JSET_K = 0x45
RET_K = 0x06


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if platform.machine() != "x86_64":
        sys.exit(77)
    # struct seccomp_data: nr @0, arch @4, ip @8, args[6] @16 (low word first)
    prog = b"".join([
        insn(LD_W_ABS, 0, 0, 4),
        insn(JEQ_K, 0, 6, AUDIT_ARCH_X86_64),
        insn(LD_W_ABS, 0, 0, 0),
        insn(JEQ_K, 0, 4, NR_IOCTL),
        insn(LD_W_ABS, 0, 0, 24),  # args[1]: the request
        insn(JEQ_K, 0, 2, TUNSETOFFLOAD),
        insn(LD_W_ABS, 0, 0, 32),  # args[2]: the offload flags
        insn(JSET_K, 1, 0, TUN_F_USO),
        insn(RET_K, 0, 0, RET_ALLOW),
        insn(RET_K, 0, 0, RET_ERRNO | errno.EINVAL),
    ])
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HxxxxxxQ", len(prog) // 8, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fbuf), 0, 0) != 0:
        print(f"no_uso.py: seccomp: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        sys.exit(1)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
