#!/usr/bin/env python3
"""gate_relay.py: a TCP relay that holds a TLS client's handshake halfway.

    gate_relay.py --listen ADDR PORT --upstream ADDR PORT --gate FILE

For each connection (at most 4 at a time) it forwards the client's first
TLS record (the ClientHello) at once, and everything the server sends, but
holds the rest of what the client sends (its Certificate, CertificateVerify
and Finished) until FILE exists. So a test can change the server between
the start of a handshake and the client's certificate, without timing.

Prints, flushed, one line per event for the test to wait on:
    "conn N: open", "conn N: server spoke" (its first bytes to the client),
    "conn N: gate open", "conn N: closed".
Bounded: a record header announcing more than 18 KiB ends the connection;
the gate is waited for at most --hold seconds (default 60).
"""

import argparse
import asyncio
import os
import sys

MAX_RECORD = 16384 + 2048
MAX_CONNS = 4


def say(line):
    print(line, flush=True)


class Relay:
    def __init__(self, args):
        self.args = args
        self.conns = 0
        self.open = 0

    async def wait_gate(self):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.args.hold
        while not os.path.exists(self.args.gate):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def c2s(self, number, reader, writer):
        header = await reader.readexactly(5)
        length = int.from_bytes(header[3:5], "big")
        if length > MAX_RECORD:
            return
        writer.write(header + await reader.readexactly(length))
        await writer.drain()
        if not await self.wait_gate():
            return
        say(f"conn {number}: gate open")
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    @staticmethod
    async def s2c(number, reader, writer):
        first = True
        while data := await reader.read(65536):
            if first:
                say(f"conn {number}: server spoke")
                first = False
            writer.write(data)
            await writer.drain()

    async def pipe(self, job, writers):
        try:
            await job
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in writers:
                if not w.is_closing():
                    w.close()

    async def on_client(self, c_reader, c_writer):
        if self.open >= MAX_CONNS:
            c_writer.close()
            return
        self.conns += 1
        self.open += 1
        number = self.conns
        try:
            try:
                s_reader, s_writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.args.upstream), timeout=5)
            except (OSError, asyncio.TimeoutError) as e:
                say(f"conn {number}: upstream connect failed: {e}")
                c_writer.close()
                return
            say(f"conn {number}: open")
            both = (c_writer, s_writer)
            await asyncio.gather(
                self.pipe(self.c2s(number, c_reader, s_writer), both),
                self.pipe(self.s2c(number, s_reader, c_writer), both))
            say(f"conn {number}: closed")
        finally:
            self.open -= 1


async def serve(args):
    relay = Relay(args)
    server = await asyncio.start_server(relay.on_client, args.listen[0], int(args.listen[1]))
    say("listening")
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", nargs=2, required=True, metavar=("ADDR", "PORT"))
    p.add_argument("--upstream", nargs=2, required=True, metavar=("ADDR", "PORT"))
    p.add_argument("--gate", required=True)
    p.add_argument("--hold", type=float, default=60)
    args = p.parse_args()
    args.upstream = (args.upstream[0], int(args.upstream[1]))
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
