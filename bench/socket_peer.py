#!/usr/bin/env python3
"""Stdlib-only JSON-line peer for bench/socket-roundtrip.bench.js, speaking
codechu-ipc's protocol (one JSON request per line, one JSON reply line).

  socket_peer.py server PATH          threaded echo server; prints "ready"; exits when stdin closes
  socket_peer.py client PATH N_LAT N_PIPE
      sequential round trips (N_LAT) then N_PIPE pipelined requests on one
      connection (a writer thread sends, the main thread reads); prints JSON
      {"p50_us", "p99_us", "pipelined_rps"}.
"""
import json
import os
import socket
import sys
import threading
import time


def serve_connection(conn):
    # As codechu-ipc does: read a line, answer it with one sendall.
    with conn, conn.makefile("rb") as rfile:
        for raw in rfile:
            try:
                reply = json.loads(raw)
            except Exception as exc:  # noqa: BLE001
                reply = {"error": str(exc), "type": type(exc).__name__}
            conn.sendall((json.dumps(reply) + "\n").encode())


def server(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(128)

    def stdin_watch():
        sys.stdin.read()
        try:
            os.unlink(path)
        finally:
            os._exit(0)

    threading.Thread(target=stdin_watch, daemon=True).start()
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()


def client(path, n_lat, n_pipe):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    rfile = sock.makefile("rb")
    lat = []
    for i in range(n_lat):
        t0 = time.perf_counter()
        sock.sendall((json.dumps({"op": "echo", "id": i}) + "\n").encode())
        json.loads(rfile.readline())
        lat.append(time.perf_counter() - t0)
    lat.sort()

    def writer():
        batch = []
        for i in range(n_pipe):
            batch.append(json.dumps({"op": "echo", "id": i}) + "\n")
            if len(batch) == 256:
                sock.sendall("".join(batch).encode())
                batch = []
        if batch:
            sock.sendall("".join(batch).encode())

    t0 = time.perf_counter()
    th = threading.Thread(target=writer)
    th.start()
    for _ in range(n_pipe):
        json.loads(rfile.readline())
    elapsed = time.perf_counter() - t0
    th.join()
    sock.close()
    print(json.dumps({
        "p50_us": lat[len(lat) // 2] * 1e6,
        "p99_us": lat[int(len(lat) * 0.99)] * 1e6,
        "pipelined_rps": n_pipe / elapsed,
    }), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
