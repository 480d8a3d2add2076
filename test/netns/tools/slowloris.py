#!/usr/bin/env python3
"""slowloris.py HOST PORT COUNT SOURCES SECONDS: slow HTTPS clients.

Opens COUNT TLS connections to HOST:PORT, spread over SOURCES source
addresses (127.0.0.5, .6, ...), each then sends its request header one byte
every 2 s, for at most SECONDS. Prints "started" once every connection is
under way, then one line at the end: "closed K/COUNT max M.Ms" (K: the
connections the server closed, EOF or reset, before SECONDS; M: the longest
such connection's life). For enroll_test.sh; exit 0 unless misused.
"""
import socket
import ssl
import sys
import threading
import time

HEADER = b"POST /v1/login HTTP/1.1\r\nHost: enroll\r\nContent-Type: application/json\r\n"


def slow_client(host, port, source, seconds, results, index):
    start = time.monotonic()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, port), timeout=seconds, source_address=(source, 0))
        conn = ctx.wrap_socket(raw)  # the handshake waits for a pool thread
        conn.settimeout(2)
        sent = 0
        while time.monotonic() - start < seconds:
            conn.send(HEADER[sent % len(HEADER):sent % len(HEADER) + 1])
            sent += 1
            try:
                if conn.recv(1) == b"":
                    break  # EOF
                # An answer before the header is complete: counts as closed
                # only when EOF follows; keep trickling.
            except (socket.timeout, TimeoutError):
                continue
        else:
            results[index] = None  # still open at the end
            conn.close()
            return
        conn.close()
    except (OSError, ssl.SSLError):
        pass  # reset, or refused in the handshake: the server closed it
    elapsed = time.monotonic() - start
    results[index] = elapsed if elapsed < seconds else None


def main():
    host, port, count, sources, seconds = sys.argv[1:6]
    port, count, sources, seconds = int(port), int(count), int(sources), float(seconds)
    results = [None] * count
    threads = []
    for i in range(count):
        source = "127.0.0.%d" % (5 + i % sources)
        t = threading.Thread(target=slow_client,
                             args=(host, port, source, seconds, results, i), daemon=True)
        t.start()
        threads.append(t)
    print("started", flush=True)
    for t in threads:
        t.join(seconds + 10)
    closed = [r for r in results if r is not None]
    print("closed %d/%d max %.1fs" % (len(closed), count, max(closed, default=0.0)), flush=True)


if __name__ == "__main__":
    main()
