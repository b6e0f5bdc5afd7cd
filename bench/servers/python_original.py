#!/usr/bin/env python3
"""
A minimal, faithful port of the design of the Python original pipe-io-server
(PyPI `pipe-io-server`, which this package replaces), stdlib only, for the FIFO
benchmarks: the original itself cannot be installed here (no PyPI access).

Design kept from the original:
  - a reader thread opens the in FIFO and does a blocking readline() on it,
    calling handle_message(line without its newline) in that thread; at EOF
    (every writer left) it reopens the FIFO and waits for the next writer;
  - send_message() pushes the message on a deque guarded by a condition
    variable; a writer thread pops messages and writes message + b"\\n" to the
    out FIFO with blocking os.write() calls;
  - handle_message = send_message for the echo.

Usage: python3 python_original.py IN_PIPE OUT_PIPE
Creates the FIFOs if missing (mode 0600), prints READY once both threads run,
exits on SIGTERM (default action) or when the process is killed.
"""
import collections
import os
import sys
import threading


class PipeWriterThread(threading.Thread):
    def __init__(self, path):
        super().__init__(daemon=True)
        self._path = path
        self._queue = collections.deque()
        self._cond = threading.Condition()

    def write(self, message):
        with self._cond:
            self._queue.append(message)
            self._cond.notify()

    def run(self):
        fd = os.open(self._path, os.O_WRONLY)
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                message = self._queue.popleft()
            data = memoryview(message + b"\n")
            while data:
                data = data[os.write(fd, data):]


class PipeReaderThread(threading.Thread):
    def __init__(self, path, handler):
        super().__init__(daemon=True)
        self._path = path
        self._handler = handler

    def run(self):
        while True:
            with open(self._path, "rb") as pipe:
                while True:
                    line = pipe.readline()
                    if not line:
                        break  # every writer left: reopen, wait for the next one
                    self._handler(line[:-1] if line.endswith(b"\n") else line)


class PipeIOServer:
    def __init__(self, in_pipe, out_pipe):
        for p in (in_pipe, out_pipe):
            if not os.path.exists(p):
                os.mkfifo(p, 0o600)
        self._writer = PipeWriterThread(out_pipe)
        self._reader = PipeReaderThread(in_pipe, self.handle_message)

    def handle_message(self, message):
        self.send_message(message)

    def send_message(self, message):
        self._writer.write(message)

    def start(self):
        self._writer.start()
        self._reader.start()

    def wait(self):
        self._reader.join()


def main():
    if len(sys.argv) != 3:
        print("usage: python_original.py IN_PIPE OUT_PIPE", file=sys.stderr)
        sys.exit(2)
    server = PipeIOServer(sys.argv[1], sys.argv[2])
    server.start()
    print("READY", flush=True)
    server.wait()


if __name__ == "__main__":
    main()
