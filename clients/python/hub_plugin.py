"""Hub plugin helpers: a plugin that is a member of a pipe-io-server Hub.

Stdlib only, Python 3.8+. Copy this file into your plugin. The line protocol
is specified in docs/hub-plugins.md; in short:

line mode (the default ``mode: 'line'``)::

    from hub_plugin import serve_lines
    serve_lines(lambda data: data.upper())      # one JSON value in, one out

rpc mode (``mode: 'rpc'``)::

    from hub_plugin import HubPlugin
    hub = HubPlugin()
    def handle(data, msg):                       # msg: channel, event, sender_id, request_id
        if msg["event"] == "count":
            return (i for i in range(data))      # a generator answers as a stream
        word = hub.call("dict", "lookup", data, timeout=5.0)   # call out
        hub.publish("text", "seen", word)
        return word
    hub.on_message = lambda msg: print(msg, file=sys.stderr)  # broadcasts, publications
    hub.serve(handle)

Values: JSON values; ``bytes`` travel as ``{"$bytes": "<base64>"}`` and come
back as ``bytes``. A handler that raises fails the call with ``str(exc)``.
Calls out raise :class:`HubError` (``.code`` is the hub's PIPEIO_ERR_* code).
Replies and messages that arrive while a handler waits for its own reply are
kept in order and handled afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import types
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, Optional

__all__ = ["HubError", "HubPlugin", "serve_lines", "to_json", "from_json"]


class HubError(Exception):
    """An error answer from the hub or another member."""

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.code = code


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$bytes"), str):
            return base64.b64decode(value["$bytes"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """One line of JSON text for a hub value (bytes as {"$bytes": base64})."""
    return json.dumps(_encode(value), separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> Any:
    """A hub value from a JSON line ({"$bytes": base64} becomes bytes)."""
    return _decode(json.loads(text))


class _Pipes:
    def __init__(self, read_pipe: Optional[str], write_pipe: Optional[str]):
        self.rd = open(read_pipe or os.environ["PIPE_IO_READ_PIPE"], "rb")
        self.wr = open(write_pipe or os.environ["PIPE_IO_WRITE_PIPE"], "wb", buffering=0)

    def read(self) -> Optional[str]:
        line = self.rd.readline()
        if not line:
            return None
        return line.rstrip(b"\n").decode("utf-8", "replace")

    def write(self, text: str) -> None:
        self.wr.write(text.encode("utf-8") + b"\n")


def serve_lines(handler: Callable[[Any], Any], read_pipe: Optional[str] = None, write_pipe: Optional[str] = None) -> None:
    """Line mode: answers each JSON line with handler(value), until end of stream."""
    pipes = _Pipes(read_pipe, write_pipe)
    while True:
        line = pipes.read()
        if line is None:
            return
        try:
            out = to_json(handler(from_json(line)))
        except Exception as exc:  # the caller gets the text
            out = json.dumps({"$error": str(exc) or type(exc).__name__})
        try:
            pipes.write(out)
        except BrokenPipeError:
            return


class HubPlugin:
    """rpc mode: serve calls, call out, publish, broadcast, subscribe."""

    def __init__(self, read_pipe: Optional[str] = None, write_pipe: Optional[str] = None):
        self._pipes = _Pipes(read_pipe, write_pipe)
        self._kept: Deque[Dict[str, Any]] = deque()
        self._seq = 0
        #: called with each broadcast / send / receive / error message (a dict)
        self.on_message: Optional[Callable[[Dict[str, Any]], None]] = None

    # -- plumbing ---------------------------------------------------------------
    def _write(self, obj: Dict[str, Any]) -> None:
        self._pipes.write(to_json(obj))

    def _read(self) -> Optional[Dict[str, Any]]:
        line = self._pipes.read()
        if line is None:
            return None
        msg = json.loads(line)
        if "data" in msg:
            msg["data"] = _decode(msg["data"])
        return msg

    def _next_id(self) -> str:
        self._seq += 1
        return "py%d" % self._seq

    def _await(self, rid: str) -> Dict[str, Any]:
        while True:
            msg = self._read()
            if msg is None:
                raise HubError("end of stream while waiting for a reply", "PIPEIO_ERR_CLOSED")
            if msg.get("type") == "response" and msg.get("request_id") == rid:
                return msg
            self._kept.append(msg)

    @staticmethod
    def _check(msg: Dict[str, Any]) -> Any:
        if "error" in msg:
            raise HubError(str(msg["error"]), msg.get("code"))
        return msg.get("data")

    def request(self, obj: Dict[str, Any]) -> Any:
        """Sends a request line (a request_id is added) and returns its reply's data."""
        rid = self._next_id()
        self._write(dict(obj, request_id=rid))
        return self._check(self._await(rid))

    # -- calling out -------------------------------------------------------------
    def call(self, channel: str, event: str, data: Any = None, timeout: Optional[float] = None) -> Any:
        """Calls channel:event; returns the result's data or raises HubError (timeout in seconds)."""
        obj: Dict[str, Any] = {"type": "call", "channel": channel, "event": event, "data": data}
        if timeout is not None:
            obj["timeout"] = int(timeout * 1000)
        return self.request(obj)

    def stream(self, channel: str, event: str, data: Any = None, timeout: Optional[float] = None) -> Iterator[Any]:
        """Calls channel:event as a stream; yields each chunk's data."""
        rid = self._next_id()
        obj: Dict[str, Any] = {"type": "call", "request_id": rid, "channel": channel, "event": event, "stream": True, "data": data}
        if timeout is not None:
            obj["timeout"] = int(timeout * 1000)
        self._write(obj)
        while True:
            msg = self._await(rid)
            value = self._check(msg)
            final = msg.get("is_final") is True or msg.get("is_stream") is not True
            if value is not None or not final:
                yield value
            if final:
                return

    def publish(self, channel: str, sub_name: str, data: Any = None) -> None:
        self._write({"type": "publish", "channel": channel, "sub_name": sub_name, "data": data})

    def broadcast(self, channel: str, event: str, data: Any = None) -> None:
        self._write({"type": "broadcast", "channel": channel, "event": event, "data": data})

    def send(self, channel: str, event: str, data: Any = None) -> None:
        self._write({"type": "send", "channel": channel, "event": event, "data": data})

    def open(self, channel: str, password: Optional[str] = None) -> Any:
        obj: Dict[str, Any] = {"type": "open", "channel": channel}
        if password is not None:
            obj["password"] = password
        return self.request(obj)

    def provide(self, channel: str, event: str, group: bool = False, stream: bool = False) -> Any:
        return self.request({"type": "provide", "channel": channel, "event": event, "group": group, "stream": stream})

    def add_subscription(self, channel: str, sub_name: str) -> Any:
        return self.request({"type": "add_subscription", "channel": channel, "sub_name": sub_name})

    def subscribe(self, channel: str, sub_name: str) -> Any:
        return self.request({"type": "subscribe", "channel": channel, "sub_name": sub_name})

    def receive(self) -> Optional[Dict[str, Any]]:
        """The next message that is not a reply (kept ones first); None at end of stream."""
        if self._kept:
            return self._kept.popleft()
        return self._read()

    # -- serving -----------------------------------------------------------------
    def serve(self, handler: Callable[[Any, Dict[str, Any]], Any]) -> None:
        """Answers calls with handler(data, msg) until end of stream; other messages go to on_message."""
        while True:
            msg = self.receive()
            if msg is None:
                return
            if msg.get("type") != "call":
                if self.on_message is not None:
                    self.on_message(msg)
                continue
            rid = msg["request_id"]
            try:
                result = handler(msg.get("data"), msg)
                if isinstance(result, types.GeneratorType):
                    for chunk in result:
                        self._write({"type": "response", "request_id": rid, "data": chunk, "is_final": False})
                    self._write({"type": "response", "request_id": rid, "is_final": True})
                else:
                    self._write({"type": "response", "request_id": rid, "data": result})
            except BrokenPipeError:
                return
            except Exception as exc:  # the caller gets the text
                self._write({"type": "response", "request_id": rid, "error": str(exc) or type(exc).__name__})


if __name__ == "__main__":  # a tiny line-mode echo for smoke tests
    serve_lines(lambda value: value)
    sys.exit(0)
