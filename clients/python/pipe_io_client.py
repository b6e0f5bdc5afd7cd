"""Reference Python client for pipe-io-server (one stdlib-only file, Python 3.8+).

Copy this file into your plugin. It has:

* :class:`PipeReader` -- reads newline-terminated messages from a FIFO
  (the server's *out* pipe), blocking (:meth:`PipeReader.receive`, with an
  optional timeout) or as an iterator.
* :class:`PipeWriter` -- writes messages to a FIFO (the server's *in* pipe).
* :class:`PipeClient` -- both, the usual plugin shape, with
  :meth:`PipeClient.serve` to answer every message with a handler.
* :class:`SocketClient` -- a Unix-socket JSON-line client for the socket
  module: one JSON object per line, request -> zero or one response line,
  errors answered as ``{"error": message, "type": name}``.

Messages are ``bytes`` (any bytes except ``b"\\n"``; an unterminated last line
at end of stream is still a message). ``*_str`` methods decode/encode UTF-8
(``errors="surrogateescape"`` by default, so any bytes round-trip), ``*_json``
methods send/receive one JSON value per line.

Finding the pipes: explicit paths first, else the environment variables the
plugin host sets -- ``PIPE_IO_READ_PIPE`` (the FIFO this client reads, the
server's out pipe) and ``PIPE_IO_WRITE_PIPE`` (the FIFO this client writes,
the server's in pipe).

Waiting: if a pipe does not exist yet, or the server has not opened its end
yet, opening polls every 0.05 s for at most ``PIPE_IO_WAIT_TIMEOUT`` seconds
(default 10; ``wait_timeout=`` overrides it), then raises
:class:`PipeIOTimeout`. ``PIPE_IO_VERBOSE=1`` reports the wait on stderr.

End of session: :meth:`PipeReader.receive` returns ``None`` at end of stream
(the server stopped); :meth:`PipeWriter.send` raises :class:`PipeClosed`
(a ``BrokenPipeError``) if the server went away. SIGPIPE is ignored by
Python itself, so writes fail with EPIPE instead of killing the process.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import stat
import sys
import time
from typing import Any, Callable, Iterator, List, Optional, Union

__all__ = [
    "PipeIOError",
    "PipeIOTimeout",
    "PipeClosed",
    "RemoteError",
    "PipeReader",
    "PipeWriter",
    "PipeClient",
    "SocketClient",
    "wait_timeout_from_env",
    "READ_PIPE_ENV",
    "WRITE_PIPE_ENV",
    "WAIT_TIMEOUT_ENV",
    "DEFAULT_WAIT_TIMEOUT",
]

READ_PIPE_ENV = "PIPE_IO_READ_PIPE"
"""Environment variable naming the FIFO a client reads (the server's out pipe)."""
WRITE_PIPE_ENV = "PIPE_IO_WRITE_PIPE"
"""Environment variable naming the FIFO a client writes (the server's in pipe)."""
WAIT_TIMEOUT_ENV = "PIPE_IO_WAIT_TIMEOUT"
"""Environment variable: seconds to wait for the pipes (default 10)."""
DEFAULT_WAIT_TIMEOUT = 10.0
"""Seconds to wait for the pipes when neither argument nor env var says."""

_POLL_INTERVAL = 0.05  # seconds between checks while waiting for a pipe
_CHUNK = 65536  # bytes per read()

Message = Union[bytes, bytearray, memoryview, str]


class PipeIOError(OSError):
    """Base class of the errors this module raises."""


class PipeIOTimeout(PipeIOError, TimeoutError):
    """A wait (for a pipe, or for a message) exceeded its timeout."""


class PipeClosed(PipeIOError, BrokenPipeError):
    """The other side went away (EPIPE) or the client was closed."""


class RemoteError(PipeIOError):
    """A socket server answered ``{"error": message, "type": name}``."""

    def __init__(self, message: str, type_name: str, code: Optional[str] = None) -> None:
        super().__init__(f"{type_name}: {message}")
        self.remote_message = message
        """The ``"error"`` text."""
        self.remote_type = type_name
        """The ``"type"`` name (the remote error class)."""
        self.remote_code = code
        """The optional ``"code"`` (a ``PIPEIO_ERR_*`` code from a Node server), else ``None``."""


def wait_timeout_from_env(default: float = DEFAULT_WAIT_TIMEOUT) -> float:
    """Seconds from ``PIPE_IO_WAIT_TIMEOUT``, else ``default``.

    Raises ``ValueError`` if the variable is set but not a number >= 0.
    """
    raw = os.environ.get(WAIT_TIMEOUT_ENV, "")
    if raw == "":
        return default
    value = float(raw)
    if not value >= 0:
        raise ValueError(f"{WAIT_TIMEOUT_ENV} must be a number of seconds >= 0, got {raw!r}")
    return value


def _resolve(path: Optional[str], env: str) -> str:
    if path:
        return path
    value = os.environ.get(env)
    if not value:
        raise PipeIOError(f"no pipe path given and {env} is not set")
    return value


def _verbose(text: str) -> None:
    if os.environ.get("PIPE_IO_VERBOSE") == "1":
        print(f"pipe-io: {text}", file=sys.stderr, flush=True)


def _wait_for_fifo(path: str, deadline: float, timeout: float) -> None:
    said = False
    while True:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                raise PipeIOTimeout(
                    errno.ETIMEDOUT, f"{path} did not appear within {timeout:g} s ({WAIT_TIMEOUT_ENV})"
                ) from None
            if not said:
                _verbose(f"waiting for {path} (up to {timeout:g} s)")
                said = True
            time.sleep(_POLL_INTERVAL)
            continue
        if not stat.S_ISFIFO(st.st_mode):
            raise PipeIOError(errno.EINVAL, f"{path} exists but is not a FIFO")
        return


def _encode(message: Message) -> bytes:
    data = message.encode("utf-8", "surrogateescape") if isinstance(message, str) else bytes(message)
    if b"\n" in data:
        raise ValueError("a message must not contain a newline")
    return data


class _FifoEnd:
    """What a reader and a writer share: the fd, closing, and ``with``."""

    path: str
    _fd: int

    @property
    def fd(self) -> int:
        """The open file descriptor (-1 when closed)."""
        return self._fd

    def close(self) -> None:
        """Close the FIFO (idempotent); closing a writer, the server sees end of stream."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __exit__(self, *exc: object) -> None:
        self.close()


class PipeReader(_FifoEnd):
    """Reads newline-terminated messages from a FIFO (the server's out pipe).

    Open it with :meth:`open` (or use ``with``); iterate over it for
    ``bytes`` messages until end of stream.

    :param path: FIFO to read; default ``$PIPE_IO_READ_PIPE``.
    :param wait_timeout: seconds to wait for the FIFO and its writer;
        default ``$PIPE_IO_WAIT_TIMEOUT`` or 10.
    :param max_message_size: refuse longer messages (``PipeIOError``,
        EMSGSIZE); ``None`` (default) = unlimited.
    """

    def __init__(
        self,
        path: Optional[str] = None,
        *,
        wait_timeout: Optional[float] = None,
        max_message_size: Optional[int] = None,
    ) -> None:
        self.path = _resolve(path, READ_PIPE_ENV)
        self.wait_timeout = wait_timeout_from_env() if wait_timeout is None else wait_timeout
        self.max_message_size = max_message_size
        self._fd = -1
        self._buffer = bytearray()
        self._scan = 0  # bytes of _buffer already known to hold no newline
        self._eof = False

    def open(self, deadline: Optional[float] = None) -> "PipeReader":
        """Wait for the FIFO and a writer (the server), then open it.

        The FIFO is opened non-blocking and probed: a read answering EOF means
        no writer yet, so it is retried every 0.05 s until the deadline.
        Raises :class:`PipeIOTimeout` when the wait times out.
        """
        if self._fd >= 0:
            return self
        if deadline is None:
            deadline = time.monotonic() + self.wait_timeout
        _wait_for_fifo(self.path, deadline, self.wait_timeout)
        said = False
        while True:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
            try:
                first = os.read(fd, _CHUNK)
            except BlockingIOError:  # a writer is there, no data yet
                first = None
            except BaseException:
                os.close(fd)
                raise
            if first != b"":  # data, or a writer with nothing to say yet
                os.set_blocking(fd, True)
                self._fd = fd
                if first:
                    self._buffer += first
                return self
            os.close(fd)  # no writer yet
            if time.monotonic() >= deadline:
                raise PipeIOTimeout(
                    errno.ETIMEDOUT, f"no writer opened {self.path} within {self.wait_timeout:g} s"
                )
            if not said:
                _verbose(f"waiting for a writer on {self.path}")
                said = True
            time.sleep(_POLL_INTERVAL)

    def receive(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next message without its newline, or ``None`` at end of stream.

        :param timeout: seconds to wait; ``None`` waits forever. On timeout
            raises :class:`PipeIOTimeout` (bytes of a half-received message
            are kept for the next call).
        """
        if self._fd < 0:
            self.open()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            index = self._buffer.find(b"\n", self._scan)
            if index >= 0:
                message = bytes(self._buffer[:index])
                del self._buffer[: index + 1]
                self._scan = 0
                return message
            self._scan = len(self._buffer)
            if self.max_message_size is not None and self._scan > self.max_message_size:
                raise PipeIOError(errno.EMSGSIZE, f"message longer than {self.max_message_size} bytes")
            if self._eof:
                if self._buffer:  # unterminated last line: still a message
                    message = bytes(self._buffer)
                    self._buffer.clear()
                    self._scan = 0
                    return message
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                ready = select.select([self._fd], [], [], max(left, 0))[0] if left > 0 else []
                if not ready:
                    raise PipeIOTimeout(errno.ETIMEDOUT, f"no message within {timeout:g} s")
            chunk = os.read(self._fd, _CHUNK)
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True

    def receive_str(self, timeout: Optional[float] = None, errors: str = "surrogateescape") -> Optional[str]:
        """Like :meth:`receive`, decoded as UTF-8."""
        message = self.receive(timeout)
        return None if message is None else message.decode("utf-8", errors)

    def receive_json(self, timeout: Optional[float] = None) -> Any:
        """The next message parsed as JSON; raises ``EOFError`` at end of stream."""
        message = self.receive(timeout)
        if message is None:
            raise EOFError(f"end of stream on {self.path}")
        return json.loads(message)

    def __iter__(self) -> Iterator[bytes]:
        """Yields each message (``bytes``) until end of stream."""
        while True:
            message = self.receive()
            if message is None:
                return
            yield message

    def lines(self) -> Iterator[str]:
        """Yields each message decoded as UTF-8 (surrogateescape)."""
        for message in self:
            yield message.decode("utf-8", "surrogateescape")

    def __enter__(self) -> "PipeReader":
        return self.open()


class PipeWriter(_FifoEnd):
    """Writes newline-terminated messages to a FIFO (the server's in pipe).

    :param path: FIFO to write; default ``$PIPE_IO_WRITE_PIPE``.
    :param wait_timeout: seconds to wait for the FIFO and its reader;
        default ``$PIPE_IO_WAIT_TIMEOUT`` or 10.
    """

    def __init__(self, path: Optional[str] = None, *, wait_timeout: Optional[float] = None) -> None:
        self.path = _resolve(path, WRITE_PIPE_ENV)
        self.wait_timeout = wait_timeout_from_env() if wait_timeout is None else wait_timeout
        self._fd = -1

    def open(self, deadline: Optional[float] = None) -> "PipeWriter":
        """Wait for the FIFO and a reader (the server), then open it.

        Opens non-blocking: ENXIO means no reader yet, retried every 0.05 s
        until the deadline. Raises :class:`PipeIOTimeout` on timeout.
        """
        if self._fd >= 0:
            return self
        if deadline is None:
            deadline = time.monotonic() + self.wait_timeout
        _wait_for_fifo(self.path, deadline, self.wait_timeout)
        said = False
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
            except OSError as err:
                if err.errno != errno.ENXIO:
                    raise
                if time.monotonic() >= deadline:
                    raise PipeIOTimeout(
                        errno.ETIMEDOUT, f"no reader opened {self.path} within {self.wait_timeout:g} s"
                    ) from None
                if not said:
                    _verbose(f"waiting for a reader on {self.path}")
                    said = True
                time.sleep(_POLL_INTERVAL)
                continue
            os.set_blocking(fd, True)
            self._fd = fd
            return self

    def send(self, message: Message) -> None:
        """Write one message plus a newline (``str`` is encoded as UTF-8).

        Raises ``ValueError`` if it contains a newline, :class:`PipeClosed`
        if the server went away (EPIPE).
        """
        data = _encode(message) + b"\n"
        if self._fd < 0:
            self.open()
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except BrokenPipeError as err:
            raise PipeClosed(errno.EPIPE, f"{self.path}: the reader went away") from err

    def send_json(self, value: Any) -> None:
        """Send ``value`` as one compact JSON line."""
        self.send(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def __enter__(self) -> "PipeWriter":
        return self.open()


class PipeClient:
    """Both ends, the usual plugin shape: read the server's out pipe, write its in pipe.

    >>> with PipeClient() as client:          # paths from the environment
    ...     for message in client:
    ...         client.send(message.upper())

    :param read_pipe: default ``$PIPE_IO_READ_PIPE``.
    :param write_pipe: default ``$PIPE_IO_WRITE_PIPE``.
    :param wait_timeout: seconds for both pipes together; default
        ``$PIPE_IO_WAIT_TIMEOUT`` or 10.
    """

    def __init__(
        self,
        read_pipe: Optional[str] = None,
        write_pipe: Optional[str] = None,
        *,
        wait_timeout: Optional[float] = None,
        max_message_size: Optional[int] = None,
    ) -> None:
        timeout = wait_timeout_from_env() if wait_timeout is None else wait_timeout
        self.wait_timeout = timeout
        self.reader = PipeReader(read_pipe, wait_timeout=timeout, max_message_size=max_message_size)
        self.writer = PipeWriter(write_pipe, wait_timeout=timeout)

    def open(self) -> "PipeClient":
        """Open both pipes within one ``wait_timeout`` (writer first: its open proves the server runs)."""
        deadline = time.monotonic() + self.wait_timeout
        try:
            self.writer.open(deadline)
            self.reader.open(deadline)
        except BaseException:
            self.close()
            raise
        return self

    def receive(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """See :meth:`PipeReader.receive`."""
        return self.reader.receive(timeout)

    def receive_str(self, timeout: Optional[float] = None) -> Optional[str]:
        """See :meth:`PipeReader.receive_str`."""
        return self.reader.receive_str(timeout)

    def receive_json(self, timeout: Optional[float] = None) -> Any:
        """See :meth:`PipeReader.receive_json`."""
        return self.reader.receive_json(timeout)

    def send(self, message: Message) -> None:
        """See :meth:`PipeWriter.send`."""
        self.writer.send(message)

    def send_json(self, value: Any) -> None:
        """See :meth:`PipeWriter.send_json`."""
        self.writer.send_json(value)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.reader)

    def serve(self, handler: Callable[[bytes], Union[None, Message, List[Message]]]) -> None:
        """Call ``handler(message)`` for each message until end of stream.

        The handler returns ``None`` (no reply), one reply, or a list of
        replies. Returns normally at end of stream or when the server went
        away while replying (:class:`PipeClosed`).
        """
        try:
            for message in self:
                reply = handler(message)
                if reply is None:
                    continue
                for item in reply if isinstance(reply, list) else [reply]:
                    self.send(item)
        except PipeClosed:
            return

    def close(self) -> None:
        """Close both pipes (idempotent)."""
        self.writer.close()
        self.reader.close()

    def __enter__(self) -> "PipeClient":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class SocketClient:
    """JSON-line client for the Unix-socket server of pipe-io-server.

    One JSON object per line; each request gets zero or one response line
    (responses come in request order); the server answers errors as
    ``{"error": message, "type": name}`` (a Node server adds ``"code"``),
    raised here as :class:`RemoteError`. Several requests per connection.
    Use :meth:`request` for requests that get a response and :meth:`send`
    for those that get none.

    :param path: socket path.
    :param timeout: seconds for connect and for each response (default 10;
        ``None`` = no limit).
    """

    def __init__(self, path: str, *, timeout: Optional[float] = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._buffer = bytearray()

    def connect(self) -> "SocketClient":
        """Connect (idempotent)."""
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            self._sock = sock
        return self

    def send(self, value: Any) -> None:
        """Send one JSON value as a line, without waiting for a response."""
        self.connect()
        assert self._sock is not None
        self._sock.sendall(json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n")

    def receive(self) -> Any:
        """The next response line parsed as JSON.

        Raises :class:`RemoteError` for an ``{"error", "type"}`` answer,
        :class:`PipeClosed` if the server closed the connection,
        ``socket.timeout`` after ``timeout`` seconds.
        """
        self.connect()
        assert self._sock is not None
        while True:
            index = self._buffer.find(b"\n")
            if index >= 0:
                line = bytes(self._buffer[:index])
                del self._buffer[: index + 1]
                break
            chunk = self._sock.recv(_CHUNK)
            if not chunk:
                raise PipeClosed(errno.ECONNRESET, f"{self.path}: the server closed the connection")
            self._buffer += chunk
        value = json.loads(line)
        if isinstance(value, dict) and isinstance(value.get("error"), str) and isinstance(value.get("type"), str):
            code = value.get("code")
            raise RemoteError(value["error"], value["type"], code if isinstance(code, str) else None)
        return value

    def request(self, value: Any) -> Any:
        """Send ``value`` and return the parsed response (for requests that get one)."""
        self.send(value)
        return self.receive()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
        self._buffer.clear()

    def __enter__(self) -> "SocketClient":
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()
