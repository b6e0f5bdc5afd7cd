#!/usr/bin/env python3
"""A Python plugin built on clients/python/pipe_io_client.py.

The host sets PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE. Each message is a JSON
request {"id": n, "text": "..."}; each reply is {"id": n, "words": count,
"longest": word}. Ends at end of stream (the host stopped its server).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from pipe_io_client import PipeClient, PipeClosed  # noqa: E402


def answer(request: dict) -> dict:
    words = request.get("text", "").split()
    return {"id": request.get("id"), "words": len(words), "longest": max(words, key=len, default="")}


def main() -> int:
    with PipeClient() as client:  # paths from the environment
        while True:
            try:
                request = client.receive_json()
            except EOFError:
                return 0  # the host stopped the server
            except ValueError as err:  # not JSON: say so, keep serving
                client.send_json({"error": str(err), "type": "ValueError"})
                continue
            try:
                client.send_json(answer(request))
            except PipeClosed:
                return 0  # the host went away while we answered


if __name__ == "__main__":
    sys.exit(main())
