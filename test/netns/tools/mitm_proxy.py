#!/usr/bin/env python3
"""mitm_proxy.py: a Dolev-Yao man in the middle for the netns tests.

A TCP relay that parses the TLS record layer (RFC 8446 section 5.1: a 5-byte
header, content type, version, 16-bit length) both ways and, when told to,
tampers with the next application-data record (content type 23) of one
direction, on whichever connection carries it first. Every attack is one
shot: it fires once, then the relay is honest again.

    mitm_proxy.py serve --listen ADDR PORT --upstream ADDR PORT --control SOCK
    mitm_proxy.py ctl SOCK COMMAND...
    mitm_proxy.py rogue (--connect|--listen) ADDR PORT --send garbage|nothing

Control commands (one line each, over the Unix socket SOCK):
    arm ATTACK DIR   DIR: c2s (client to server) or s2c; ATTACK:
        flip      XOR one byte in the middle of the record's ciphertext
        replay    forward the record, then an earlier record of the same
                  direction and connection again
        inject    send a forged application-data record (random body) first
        drop      do not forward the record
        reorder   hold the record, forward the next one, then the held one
        truncate  forward the header and half of the body, then close both
                  sides of that connection
    status           "armed ATTACK DIR|none fired N conns N open N"
The serve mode prints one line per connection and per fired attack on
stdout ("fired flip c2s conn 3 record 7 len 40"), for the test to wait on.

The rogue mode is a peer that completes TCP but speaks no TLS: it connects
(or accepts, up to --conns connections, one at a time), sends garbage or
nothing, and reports when the other side closes ("conn 1: closed by peer
after 0.1 s, got 7 bytes") or when --hold seconds pass ("conn 1: still open
after 10 s").

Bounded: at most 64 connections at a time, records of at most 18 KiB + 5
(RFC 8446: 2^14 + 256 for ciphertext); a stream that is not TLS records is
relayed unparsed.
"""

import argparse
import asyncio
import os
import socket
import sys

APPLICATION_DATA = 23
MAX_RECORD = 16384 + 2048  # TLS 1.2 allows 2^14 + 2048 of ciphertext
MAX_CONNS = 64
ATTACKS = ("flip", "replay", "inject", "drop", "reorder", "truncate")
DIRECTIONS = ("c2s", "s2c")


def say(line):
    print(line, flush=True)


class Attack:
    """The armed attack, shared by all connections; consumed when it fires."""

    def __init__(self):
        self.kind = None
        self.direction = None
        self.fired = 0

    def take(self, direction):
        if self.kind is None or self.direction != direction:
            return None
        kind, self.kind, self.direction = self.kind, None, None
        self.fired += 1
        return kind


class Connection:
    def __init__(self, proxy, number, c_reader, c_writer):
        self.proxy = proxy
        self.number = number
        self.c_reader, self.c_writer = c_reader, c_writer
        self.s_reader = self.s_writer = None

    async def run(self):
        try:
            self.s_reader, self.s_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.proxy.upstream), timeout=5)
        except (OSError, asyncio.TimeoutError) as e:
            say(f"conn {self.number}: upstream connect failed: {e}")
            self.c_writer.close()
            return
        say(f"conn {self.number}: open")
        await asyncio.gather(
            self.relay("c2s", self.c_reader, self.s_writer),
            self.relay("s2c", self.s_reader, self.c_writer))
        say(f"conn {self.number}: closed")

    def close_both(self):
        for w in (self.c_writer, self.s_writer):
            if w is not None and not w.is_closing():
                w.close()

    async def relay(self, direction, reader, writer):
        try:
            await self.relay_records(direction, reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # What one side closes, the other sees closed: half-close would
            # leave a TLS peer waiting for bytes that never come.
            self.close_both()

    async def relay_records(self, direction, reader, writer):
        earlier = None  # the previous application-data record (replay)
        held = None  # a record held back (reorder)
        count = 0
        while True:
            header = await reader.readexactly(5)
            length = int.from_bytes(header[3:5], "big")
            if length > MAX_RECORD:
                # Not TLS (or not any more): relay the rest as it comes.
                writer.write(header)
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
                return
            record = header + await reader.readexactly(length)
            count += 1
            kind = None
            if header[0] == APPLICATION_DATA:
                if held is not None:
                    # reorder: the later record first, then the held one.
                    writer.write(record + held)
                    await writer.drain()
                    held = None
                    earlier = record
                    continue
                kind = self.proxy.attack.take(direction)
            if kind is None:
                writer.write(record)
                await writer.drain()
                if header[0] == APPLICATION_DATA:
                    earlier = record
                continue
            if kind == "replay" and earlier is None:
                kind = "replay-current"  # nothing earlier: send this one twice
            say(f"fired {kind} {direction} conn {self.number} record {count} len {length}")
            if kind == "flip":
                body = bytearray(record)
                body[5 + length // 2] ^= 0x20
                writer.write(bytes(body))
            elif kind == "replay":
                writer.write(record + earlier)
            elif kind == "replay-current":
                writer.write(record + record)
            elif kind == "inject":
                forged = os.urandom(max(length - 5, 32))
                writer.write(bytes([APPLICATION_DATA, 3, 3]) +
                             len(forged).to_bytes(2, "big") + forged + record)
            elif kind == "drop":
                pass
            elif kind == "reorder":
                held = record
                continue
            elif kind == "truncate":
                writer.write(record[:5 + length // 2])
                await writer.drain()
                self.close_both()
                return
            await writer.drain()
            earlier = record


class Proxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.attack = Attack()
        self.conns = 0
        self.open = 0

    async def on_client(self, reader, writer):
        if self.open >= MAX_CONNS:
            writer.close()
            return
        self.conns += 1
        self.open += 1
        try:
            await Connection(self, self.conns, reader, writer).run()
        finally:
            self.open -= 1

    async def on_control(self, reader, writer):
        try:
            line = (await reader.readline()).decode(errors="replace").split()
            writer.write((self.command(line) + "\n").encode())
            await writer.drain()
        finally:
            writer.close()

    def command(self, words):
        if len(words) == 3 and words[0] == "arm" and words[1] in ATTACKS \
                and words[2] in DIRECTIONS:
            self.attack.kind, self.attack.direction = words[1], words[2]
            say(f"armed {words[1]} {words[2]}")
            return "ok"
        if words == ["status"]:
            armed = f"{self.attack.kind} {self.attack.direction}" \
                if self.attack.kind else "none"
            return f"armed {armed} fired {self.attack.fired} conns {self.conns} open {self.open}"
        return "error: usage: arm ATTACK DIR | status"


async def serve(args):
    proxy = Proxy((args.upstream[0], int(args.upstream[1])))
    server = await asyncio.start_server(proxy.on_client, args.listen[0], int(args.listen[1]),
                                        reuse_address=True)
    if os.path.exists(args.control):
        os.unlink(args.control)
    control = await asyncio.start_unix_server(proxy.on_control, args.control)
    say(f"listening on {args.listen[0]} port {args.listen[1]}, upstream "
        f"{args.upstream[0]} port {args.upstream[1]}")
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


def ctl(args):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(args.control)
        s.sendall((" ".join(args.words) + "\n").encode())
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    text = reply.decode(errors="replace").strip()
    print(text)
    return 1 if text.startswith("error") else 0


GARBAGE = b"GET / HTTP/1.1\r\nHost: enftun\r\n\r\n" + bytes(range(256))


async def rogue_session(number, reader, writer, args):
    start = asyncio.get_running_loop().time()
    if args.send == "garbage":
        writer.write(GARBAGE)
        await writer.drain()
    got = 0
    try:
        async with asyncio.timeout(args.hold):
            while data := await reader.read(4096):
                got += len(data)
        elapsed = asyncio.get_running_loop().time() - start
        say(f"conn {number}: closed by peer after {elapsed:.1f} s, got {got} bytes")
    except TimeoutError:
        say(f"conn {number}: still open after {args.hold} s, got {got} bytes")
    except OSError as e:
        say(f"conn {number}: closed by peer ({e}), got {got} bytes")
    writer.close()


async def rogue(args):
    addr, port = args.connect or args.listen
    if args.connect:
        reader, writer = await asyncio.open_connection(addr, int(port))
        say("conn 1: connected")
        await rogue_session(1, reader, writer, args)
        return
    done = asyncio.Event()
    count = 0

    async def on_peer(reader, writer):
        nonlocal count
        count += 1
        if count > args.conns:
            writer.close()
            return
        say(f"conn {count}: accepted")
        await rogue_session(count, reader, writer, args)
        if count >= args.conns:
            done.set()

    server = await asyncio.start_server(on_peer, addr, int(port), reuse_address=True)
    say(f"listening on {addr} port {port}")
    async with server:
        await done.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--listen", nargs=2, metavar=("ADDR", "PORT"), required=True)
    p.add_argument("--upstream", nargs=2, metavar=("ADDR", "PORT"), required=True)
    p.add_argument("--control", required=True)
    p = sub.add_parser("ctl")
    p.add_argument("control")
    p.add_argument("words", nargs="+")
    p = sub.add_parser("rogue")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--connect", nargs=2, metavar=("ADDR", "PORT"))
    g.add_argument("--listen", nargs=2, metavar=("ADDR", "PORT"))
    p.add_argument("--send", choices=("garbage", "nothing"), required=True)
    p.add_argument("--hold", type=float, default=30, help="seconds to wait for the close")
    p.add_argument("--conns", type=int, default=2, help="connections to accept (--listen)")
    args = parser.parse_args()
    if args.mode == "ctl":
        return ctl(args)
    try:
        asyncio.run(rogue(args) if args.mode == "rogue" else serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
