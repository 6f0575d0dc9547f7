#!/usr/bin/env python3
"""tests/fake/count-proxy.py - a TCP proxy in front of an HTTP server that logs every request it passes.

    tests/fake/count-proxy.py --target HOST:PORT --port-file FILE --log FILE [--max-seconds 300]

Listens on 127.0.0.1 on a free port (written to FILE once it listens) and forwards each connection to
the target byte for byte (a SigV4 signature stays valid: the Host header is the one the client signed).
Each request's line ("GET /bucket/key HTTP/1.1") is appended to the log as "METHOD PATH", so a test can
count what a client asked of the real server (t3202: no GET on odbk-create's default path).  Requests
are read by their Content-Length (no chunked bodies: odbk sends none); answers pass through unread.
"""
import argparse
import os
import socket
import sys
import threading

LOG_LOCK = threading.Lock()


def pipe_answers(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def serve(client, target, log):
    try:
        upstream = socket.create_connection(target)
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe_answers, args=(upstream, client), daemon=True).start()
    f = client.makefile("rb")
    try:
        while True:
            line = f.readline()
            if not line:
                break
            head = [line]
            length = 0
            while True:
                h = f.readline()
                head.append(h)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            parts = line.decode("latin-1").split()
            with LOG_LOCK, open(log, "a") as lf:
                lf.write("%s %s\n" % (parts[0] if parts else "?", parts[1] if len(parts) > 1 else "?"))
            upstream.sendall(b"".join(head) + read_exact(f, length))
    except OSError:
        pass
    try:
        upstream.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args()
    host, _, port = a.target.rpartition(":")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    open(a.log, "a").close()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c, (host, int(port)), a.log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
