#!/usr/bin/env python3
"""ctl.py SOCKET JSON -- send one request to the daemon's control socket, print the reply.

Uses SocketClient from clients/python/pipe_io_client.py. Exit codes: 0 reply
printed, 1 the daemon answered an error ({"error", "type"}), 2 no daemon.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from pipe_io_client import RemoteError, SocketClient  # noqa: E402


def main(argv: list) -> int:
    if len(argv) != 2:
        print("usage: ctl.py SOCKET JSON", file=sys.stderr)
        return 2
    try:
        with SocketClient(argv[0], timeout=10) as client:
            print(json.dumps(client.request(json.loads(argv[1])), sort_keys=True))
    except RemoteError as err:
        print(f"error: {err.remote_type}: {err.remote_message}")
        return 1
    except (FileNotFoundError, ConnectionRefusedError) as err:
        print(f"no daemon at {argv[0]}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
