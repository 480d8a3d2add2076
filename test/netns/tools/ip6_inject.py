#!/usr/bin/env python3
"""ip6_inject.py IFACE [--count N] PACKET...: writes IPv6 packets, byte for
byte, to IFACE through an AF_PACKET socket, as if the host's stack had sent
them; on a TUN they go to the program that reads it. For tests that play a
hostile host: packets no stack would send (malformed, spoofed sources, a
flood). Needs root (CAP_NET_RAW) in the interface's namespace.

Each PACKET is hex; spaces, '.', '_' and ':' in it are ignored. A prefix
says how much is repaired before sending:
  (none)   the IPv6 payload length, and the UDP length and checksum or the
           ICMPv6 checksum (when the next header is 17 or 58), are set
  badsum:  the same, then the checksum has one bit flipped
  raw:     sent exactly as given
--count N sends the whole list N times (default 1). Prints
"sent PACKETS in SECONDS s" at the end.
"""
import errno
import socket
import struct
import sys
import time

ETH_P_IPV6 = 0x86DD
IPV6_HEADER_LEN = 40
PROTO_UDP = 17
PROTO_ICMPV6 = 58
CHECKSUM_OFFSET = {PROTO_UDP: 6, PROTO_ICMPV6: 2}


def ones_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def repair(pkt, flip):
    """Length fields and the upper-layer checksum (RFC 8200 §8.1)."""
    pkt = bytearray(pkt)
    if len(pkt) < IPV6_HEADER_LEN:
        return bytes(pkt)
    payload_len = len(pkt) - IPV6_HEADER_LEN
    struct.pack_into("!H", pkt, 4, payload_len & 0xFFFF)
    next_header = pkt[6]
    off = CHECKSUM_OFFSET.get(next_header)
    if off is None or payload_len < off + 2:
        return bytes(pkt)
    if next_header == PROTO_UDP:
        struct.pack_into("!H", pkt, IPV6_HEADER_LEN + 4, payload_len & 0xFFFF)
    struct.pack_into("!H", pkt, IPV6_HEADER_LEN + off, 0)
    pseudo = bytes(pkt[8:40]) + struct.pack("!IxxxB", payload_len, next_header)
    csum = ~ones_sum(pseudo + bytes(pkt[IPV6_HEADER_LEN:])) & 0xFFFF
    if next_header == PROTO_UDP and csum == 0:
        csum = 0xFFFF  # RFC 768: a computed 0 is sent as all ones
    if flip:
        csum ^= 0x0001
    struct.pack_into("!H", pkt, IPV6_HEADER_LEN + off, csum)
    return bytes(pkt)


def parse(arg):
    kind, text = "", arg
    for prefix in ("raw:", "badsum:"):
        if arg.startswith(prefix):
            kind, text = prefix[:-1], arg[len(prefix):]
    for ch in " ._:":
        text = text.replace(ch, "")
    data = bytes.fromhex(text)
    if kind == "raw":
        return data
    return repair(data, flip=(kind == "badsum"))


def main():
    args = sys.argv[1:]
    count = 1
    if len(args) >= 2 and args[1] == "--count":
        count = int(args[2])
        del args[1:3]
    if len(args) < 2:
        sys.exit(__doc__)
    iface, packets = args[0], [parse(a) for a in args[1:]]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
    addr = (iface, ETH_P_IPV6)
    start = time.monotonic()
    sent = 0
    for _ in range(count):
        for pkt in packets:
            while True:
                try:
                    sock.sendto(pkt, addr)
                    break
                except OSError as e:
                    if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                        raise
                    time.sleep(0.001)  # the TUN's queue is full: let it drain
            sent += 1
    print("sent %d in %.3f s" % (sent, time.monotonic() - start))


if __name__ == "__main__":
    main()
