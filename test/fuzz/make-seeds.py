#!/usr/bin/env python3
"""Writes the seed corpora in test/fuzz/corpus/<target>/.

The packets are the kernel captures in test/unit/packet_vectors.hpp (see its
provenance note), plus a few damaged variants. Rerun after changing a target's
input format; the files are committed so fuzzing needs no python.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

ECHO_ODD = bytes.fromhex(
    "6000513300133a40fd000001000000000000000000000005fd000001000000000000000000000009"
    "800059850f6500014142434400000000432e55")
ECHO_EMPTY = bytes.fromhex(
    "6000000000083a40fd000001000000000000000000000005fd000001000000000000000000000009"
    "80007560104a0001")
ECHO_TO_SELF = bytes.fromhex(
    "60000000000b3a40fd000001000000000000000000000009fd000001000000000000000000000005"
    "8000d437beef000778797a")
RS = bytes.fromhex(
    "6000000000083afffe80000000000000929a217913930b3aff020000000000000000000000000002"
    "8500aa5600000000")
UDP = bytes.fromhex(
    "60000000000d1140fd000001000000000000000000000005fd000001000000000000000000000009"
    "14e90035000dacd268656c6c6f")
IPV4 = bytes.fromhex("4500002854d140004001d1ef0a0900010a09000208006029104e0001414141414141414141414141")
IPV6_EMPTY = bytes.fromhex(
    "6000000000003b40fd000001000000000000000000000005fd000001000000000000000000000009")


def frame(pkt):
    return struct.pack("!H", len(pkt)) + pkt


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def with_ext(pkt, nh, ext):
    """pkt with the extension header ext inserted, announced by nh."""
    out = bytearray(pkt[:40] + ext + pkt[40:])
    out[6] = nh
    struct.pack_into("!H", out, 4, len(out) - 40)
    return bytes(out)


def main():
    rs_hbh = with_ext(RS, 0, bytes.fromhex("3a00010400000000"))
    rs_frag = with_ext(RS, 44, bytes.fromhex("3a00000112345678"))
    for name, pkt in [("echo_odd", ECHO_ODD), ("echo_empty", ECHO_EMPTY), ("rs", RS),
                      ("udp", UDP), ("ipv4", IPV4), ("ipv6_empty", IPV6_EMPTY),
                      ("truncated", ECHO_ODD[:39]), ("rs_hop_by_hop", rs_hbh),
                      ("rs_first_fragment", rs_frag)]:
        write("ipv6", name, pkt)
    # icmpv6: flags byte (bit 0 fix length, bit 1 fix checksum) + packet.
    for name, data in [("echo_odd", b"\0" + ECHO_ODD), ("echo_to_self", b"\0" + ECHO_TO_SELF),
                       ("rs", b"\0" + RS), ("udp", b"\0" + UDP),
                       ("echo_cut_repaired", b"\3" + ECHO_ODD[:50]),
                       ("echo_bad_checksum", b"\0" + ECHO_EMPTY[:-1] + b"\x02")]:
        write("icmpv6", name, data)
    # framing: max_payload (be16, 1 + v % 65535), extra capacity, seed, stream.
    stream = frame(ECHO_ODD) + frame(IPV4) + frame(ECHO_TO_SELF)
    write("framing", "three_frames", struct.pack("!HBB", 1499, 0, 7) + stream)
    write("framing", "tight_buffer", struct.pack("!HBB", 58, 0, 1) + stream[:61] * 3)
    write("framing", "partial_tail", struct.pack("!HBB", 1499, 3, 9) + stream[:-5])
    write("framing", "zero_length", struct.pack("!HBB", 1499, 1, 2) + frame(RS) + b"\0\0")
    write("framing", "too_long", struct.pack("!HBB", 99, 0, 3) + frame(IPV4) + b"\x05\xdc")
    write("framing", "not_ip", struct.pack("!HBB", 1499, 0, 4) + frame(b"hello"))
    # checksum: any bytes.
    write("checksum", "echo_odd", ECHO_ODD)
    write("checksum", "ones", b"\xff" * 77)
    write("checksum", "mixed", bytes(range(256)))


if __name__ == "__main__":
    main()
