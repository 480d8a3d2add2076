#!/usr/bin/env python3
"""notify_listener.py: the service manager's end of sd_notify(3), for tests.

    notify_listener.py SOCKET OUT

Binds a Unix datagram socket at SOCKET (the path a test puts into
NOTIFY_SOCKET), and appends every assignment of every datagram it receives
to OUT, one per line ("READY=1", "STATUS=up via ...", "WATCHDOG=1"),
flushed at once, so that a test can wait for a line with grep. Runs until
killed. Bounded: a datagram of more than 4 KiB is cut there (systemd takes
up to its page-size buffer too); a line is written as text, with bytes that
are not UTF-8 replaced.
"""

import os
import socket
import sys

MAX_DATAGRAM = 4096


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: notify_listener.py SOCKET OUT\n")
        return 2
    path, out_path = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out_path, "a", encoding="utf-8") as out:
        while True:
            data = sock.recv(MAX_DATAGRAM)
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    out.write(line + "\n")
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
