#!/usr/bin/env python3
"""UDP datagrams sent with UDP_SEGMENT (one send = one UDP super-packet) and
checked on arrival, for uso_test.sh.

  udp_gso.py send DST PORT SENDS SEGS SIZE
      SENDS sends of SEGS datagrams of SIZE bytes each, one UDP_SEGMENT
      sendmsg per send (the kernel hands a TUN with USO one super-packet).
  udp_gso.py recv ADDR PORT COUNT SIZE
      Receives until COUNT distinct datagrams arrived (or 30 s passed) and
      prints "good=N bad=M": a good datagram is SIZE bytes whose content
      matches its sequence number; exits 0 only if N == COUNT and M == 0.

Each datagram: a 4-byte big-endian sequence number, then bytes
(seq + i) % 251: any byte moved, dropped or corrupted is seen.
"""
import select
import socket
import struct
import sys
import time

SOL_UDP = 17
UDP_SEGMENT = 103  # linux/udp.h


def datagram(seq, size):
    head = struct.pack("!I", seq)
    return head + bytes((seq + i) % 251 for i in range(size - len(head)))


def send(dst, port, sends, segs, size):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, size)
    s.connect((dst, port))
    seq = 0
    for _ in range(sends):
        buf = b"".join(datagram(seq + k, size) for k in range(segs))
        seq += segs
        s.send(buf)
        time.sleep(0.005)  # bounded load: the receiver's buffer is not the test


def recv(addr, port, count, size):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    print("ready", flush=True)
    seen = set()
    bad = 0
    deadline = time.monotonic() + 30
    while len(seen) < count and time.monotonic() < deadline:
        if not select.select([s], [], [], 1)[0]:
            continue
        data = s.recv(65536)
        if len(data) != size or data != datagram(struct.unpack("!I", data[:4])[0], size):
            bad += 1
            continue
        seen.add(struct.unpack("!I", data[:4])[0])
    print(f"good={len(seen)} bad={bad}", flush=True)
    return 0 if len(seen) == count and bad == 0 else 1


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [int(a) for a in sys.argv[4:]]
    if mode == "send":
        send(addr, port, *args)
        return 0
    return recv(addr, port, *args)


if __name__ == "__main__":
    sys.exit(main())
