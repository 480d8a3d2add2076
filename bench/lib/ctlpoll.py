#!/usr/bin/python3
"""ctlpoll.py: a status poller for the control socket (bench/scale.sh).

    ctlpoll.py SOCKET REQUEST CLIENTS SECONDS [COUNT]

CLIENTS threads each send REQUEST ("status", "status json", "metrics") on
a new connection, read the whole answer, and at once start again: a
monitoring script in a tight loop. Each stops after SECONDS or after COUNT
answers (0: no count). Prints one JSON object: answers in full, "error: busy"
answers, other errors, answer bytes, and the mean wall time per answer.
"""
import json
import socket
import sys
import threading
import time


def one(path, request):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(request.encode() + b"\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def main():
    path, request, clients, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    totals = {"answers": 0, "busy": 0, "errors": 0, "bytes": 0, "wall_s": 0.0}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def run():
        mine = {"answers": 0, "busy": 0, "errors": 0, "bytes": 0, "wall_s": 0.0}
        while time.monotonic() < end and (count == 0 or mine["answers"] < count):
            t0 = time.monotonic()
            try:
                a = one(path, request)
            except OSError:
                mine["errors"] += 1
                continue
            if a.startswith(b"error: busy"):
                mine["busy"] += 1
            elif a.startswith(b"error:"):
                mine["errors"] += 1
            else:
                mine["answers"] += 1
                mine["bytes"] += len(a)
                mine["wall_s"] += time.monotonic() - t0
        with lock:
            for k, v in mine.items():
                totals[k] += v

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    n = totals["answers"]
    totals["ms_per_answer"] = totals["wall_s"] * 1000 / n if n else None
    totals["bytes_per_answer"] = totals["bytes"] // n if n else None
    del totals["wall_s"]
    print(json.dumps(totals))


main()
