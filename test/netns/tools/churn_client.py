#!/usr/bin/env python3
"""churn_client.py: an authenticated client reconnecting in a tight loop.

Connects to HOST:PORT with the client certificate CERT/KEY (verifying the
router against CA), proves the session up as enftun does (an ICMPv6 echo
request to fe80::1 in a version-1 frame, PROTOCOL.md, and its answer), and
does it again, COUNT times or until SECONDS have passed. With --overlap the
next connection is made before the previous one is closed, so the router
replaces each session by the next ("replaced by"); else each is closed
first ("session closed"). Prints the number of sessions proven up.

    churn_client.py --host fd00:100::1 --port 4443 --ca ca.pem \\
        --cert c2.pem --key c2.key --src fd00:e::6 --count 300 --seconds 30
"""
import argparse
import ipaddress
import socket
import ssl
import struct
import sys
import time

ICMPV6, ECHO_REQUEST, ECHO_REPLY = 58, 128, 129
ROUTER = ipaddress.IPv6Address("fe80::1")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    acc = sum(w for (w,) in struct.iter_unpack("!H", data))
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return ~acc & 0xFFFF


def echo_frame(src, seq):
    body = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, 0x4554, seq & 0xFFFF) + b"churn"
    pseudo = src.packed + ROUTER.packed + struct.pack("!I3xB", len(body), ICMPV6)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(body), ICMPV6, 64) + src.packed + ROUTER.packed
    pkt = ip6 + body
    return struct.pack("!H", len(pkt)) + pkt


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def proven_up(conn, src, seq):
    """Sends an echo request to fe80::1; True once its reply frame arrives."""
    conn.sendall(echo_frame(src, seq))
    for _ in range(8):  # skip anything else the router sends first (an RA)
        (length,) = struct.unpack("!H", read_exact(conn, 2))
        pkt = read_exact(conn, length)
        if len(pkt) > 40 and pkt[6] == ICMPV6 and pkt[40] == ECHO_REPLY:
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    for name in ("host", "ca", "cert", "key", "src"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--port", type=int, default=4443)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--overlap", action="store_true")
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    src = ipaddress.IPv6Address(a.src)
    deadline = time.monotonic() + a.seconds
    up, previous = 0, None
    for i in range(a.count):
        if time.monotonic() > deadline:
            break
        try:
            raw = socket.create_connection((a.host, a.port), timeout=5)
            conn = ctx.wrap_socket(raw)
            ok = proven_up(conn, src, i)
        except (OSError, ssl.SSLError, ConnectionError):
            ok, conn = False, None
        up += 1 if ok else 0
        if previous is not None:
            previous.close()
        previous = conn
        if conn is not None and not a.overlap:
            conn.close()
            previous = None
    if previous is not None:
        previous.close()
    print(up)
    return 0 if up > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
