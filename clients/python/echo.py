#!/usr/bin/env python3
"""echo.py READ_PIPE WRITE_PIPE -- reference echo program for pipe-io-server.

Reads each message from READ_PIPE (the server's out pipe) and writes it back
to WRITE_PIPE (the server's in pipe). Without arguments it uses
PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE. Exits 0 at end of stream (the server
stopped) or when the server went away while writing (EPIPE); 2 on usage or
open errors (e.g. the pipes did not appear within PIPE_IO_WAIT_TIMEOUT s).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_io_client import PipeClient, PipeIOError  # noqa: E402


def main(argv: list) -> int:
    if len(argv) not in (0, 2):
        print("usage: echo.py READ_PIPE WRITE_PIPE", file=sys.stderr)
        return 2
    read_pipe, write_pipe = argv if argv else (None, None)
    try:
        client = PipeClient(read_pipe, write_pipe).open()
    except (PipeIOError, OSError, ValueError) as err:
        print(f"echo.py: {err}", file=sys.stderr)
        return 2
    with client:
        client.serve(lambda message: message)  # returns at end of stream or EPIPE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
