#!/usr/bin/env python3
"""v2_frames.py: hand-made version-2 frames (PROTOCOL.md) for a raw TLS peer.

Writes to stdout COUNT copies of one frame: a GSO frame holding a TCP (or
UDP) super-packet from SRC to DST, or with --plain a PACKET frame holding
the same packet unsegmented. The packet is well formed and its transport
checksum holds the pseudo-header sum (csum "partial", as a kernel hands a
super-packet out); each metadata field can be overridden to make the
frame lie (--gso-type, --csum, --hdr-len, --gso-size, --csum-start,
--csum-offset). SRC and DST with a ':' are IPv6, else IPv4. --proto na
makes a PACKET frame with an ICMPv6 Neighbor Advertisement from SRC to DST
(hop limit 255, target SRC, complete checksum), as only a neighbour on the
same link may send.

    v2_frames.py --src fd00:e::8 --dst fd00:e::5 --payload 3000 --gso-size 0
"""
import argparse
import ipaddress
import struct
import sys

PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 6, 17, 58
GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4 = 1, 4, 5


def csum_add(data, acc=0):
    if len(data) % 2:
        data += b"\0"
    for (word,) in struct.iter_unpack("!H", data):
        acc += word
    return acc


def fold(acc):
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return acc


def packet_frame(pkt):
    return bytes([0]) + struct.pack("!I", len(pkt))[1:] + pkt


def neighbor_advertisement(src, dst):
    """RFC 4861 section 4.4: solicited and override flags, target SRC."""
    if src.version != 6:
        sys.exit("v2_frames.py: --proto na needs IPv6 addresses")
    icmp = struct.pack("!BBHI", 136, 0, 0, 0x60000000) + src.packed
    pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(icmp), PROTO_ICMPV6)
    icmp = icmp[:2] + struct.pack("!H", ~fold(csum_add(pseudo + icmp)) & 0xFFFF) + icmp[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(icmp), PROTO_ICMPV6, 255) + src.packed + dst.packed
    return packet_frame(ip + icmp)


def build(a):
    src, dst = ipaddress.ip_address(a.src), ipaddress.ip_address(a.dst)
    if src.version != dst.version:
        sys.exit("v2_frames.py: SRC and DST differ in IP version")
    if a.proto == "na":
        return neighbor_advertisement(src, dst)
    proto = PROTO_UDP if a.proto == "udp" else PROTO_TCP
    if proto == PROTO_TCP:
        l4 = struct.pack("!HHIIBBHHH", 40000, a.dport, 1, 1, 0x50, 0x18, 512, 0, 0)
    else:
        l4 = struct.pack("!HHHH", 40000, a.dport, 8 + a.payload, 0)
    l4_len = len(l4) + a.payload
    if src.version == 6:
        ip = struct.pack("!IHBB", 0x60000000, l4_len, proto, 64) + src.packed + dst.packed
    else:
        opts = bytes([1]) * a.ip_options  # NOPs, a multiple of 4
        ihl = (20 + len(opts)) // 4
        ip = struct.pack("!BBHHHBBH", 0x40 | ihl, 0, 20 + len(opts) + l4_len, 7, 0x4000, 64,
                         proto, 0) + src.packed + dst.packed + opts
        ip = ip[:10] + struct.pack("!H", ~fold(csum_add(ip)) & 0xFFFF) + ip[12:]
    # Partial checksum: the pseudo-header sum, not inverted (CHECKSUM_PARTIAL).
    pseudo = fold(csum_add(src.packed + dst.packed) + proto + l4_len)
    coff = 16 if proto == PROTO_TCP else 6
    l4 = l4[:coff] + struct.pack("!H", pseudo) + l4[coff + 2:]
    pkt = ip + l4 + bytes(a.payload)
    if a.plain:
        return packet_frame(pkt)
    if proto == PROTO_UDP:
        gso_type = GSO_UDP_L4
    else:
        gso_type = GSO_TCPV6 if src.version == 6 else GSO_TCPV4
    meta = struct.pack("!BBHHHH",
                       gso_type if a.gso_type is None else a.gso_type,
                       1 if a.csum is None else a.csum,
                       len(ip) + len(l4) if a.hdr_len is None else a.hdr_len,
                       a.gso_size,
                       len(ip) if a.csum_start is None else a.csum_start,
                       coff if a.csum_offset is None else a.csum_offset)
    body = meta + pkt
    return bytes([1]) + struct.pack("!I", len(body))[1:] + body


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--proto", choices=("tcp", "udp", "na"), default="tcp")
    p.add_argument("--dport", type=int, default=5201)
    p.add_argument("--payload", type=int, default=3000, help="transport payload bytes")
    p.add_argument("--gso-size", type=int, default=1440)
    p.add_argument("--ip-options", type=int, default=0, help="IPv4 option bytes (NOPs)")
    p.add_argument("--plain", action="store_true", help="a PACKET frame, no metadata")
    p.add_argument("--count", type=int, default=1, help="copies of the frame")
    for field in ("gso-type", "csum", "hdr-len", "csum-start", "csum-offset"):
        p.add_argument("--" + field, type=int, default=None, help="override the metadata")
    a = p.parse_args()
    if a.ip_options % 4 or a.ip_options > 40:
        sys.exit("v2_frames.py: --ip-options must be a multiple of 4, at most 40")
    frame = build(a)
    sys.stdout.buffer.write(frame * a.count)


if __name__ == "__main__":
    main()
