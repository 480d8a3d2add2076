#!/usr/bin/env python3
"""A broken enrollment service for keygen_test.sh: HTTPS on ADDR PORT with
CERT/KEY, answering every POST with MODE: "500" (HTTP 500 and a JSON error)
or "html" (HTTP 200 and a body that is not JSON); or, MODE "refuse", closing
every connection at once as enftun-enroll does when it has no room for it
(keygen/enroll/conn_guard.cpp, refuse(): /dev/null put over the accepted
socket, nothing read). Serves until killed."""
import http.server
import os
import socket
import ssl
import sys

addr, port, cert, key, mode = sys.argv[1:6]

if mode == "refuse":
    listener = socket.create_server((addr, int(port)), family=socket.AF_INET6)
    null = os.open("/dev/null", os.O_RDWR)
    print("stub refusing", flush=True)
    while True:
        conn, peer = listener.accept()
        sys.stderr.write(f"stub: refused {peer[0]}\n")
        os.dup2(null, conn.fileno())
        conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length", "0")), 65536)
        self.rfile.read(length)
        if mode == "500":
            code, ctype, body = 500, "application/json", b'{"error": "database on fire"}'
        else:
            code, ctype, body = 200, "text/html", b"<html><body>hello</body></html>"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("stub: " + (fmt % args) + "\n")


class Server(http.server.HTTPServer):
    address_family = socket.AF_INET6


server = Server((addr, int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("stub listening", flush=True)
server.serve_forever()
