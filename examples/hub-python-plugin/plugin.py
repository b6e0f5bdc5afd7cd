"""A hub plugin in Python (stdlib only, rpc mode) on clients/python/hub_plugin.py.

Provides, in channel "words":
  words:shout   -> calls text:upper (another plugin) and publishes the result on topic "shouted"
  words:letters -> a stream: one chunk per letter
  words:stats   -> {"words": n, "bytes": {"$bytes": ...}} (bytes travel as base64)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from hub_plugin import HubPlugin  # noqa: E402

hub = HubPlugin()


def handle(data, msg):
    # Every call gets an answer: an exception becomes an error answer for its caller
    # (the kit writes {"type":"response","request_id":...,"error":text}), so check the input.
    event = msg["event"]
    if not isinstance(data, str):
        raise ValueError("%s wants a string, got %s" % (event, type(data).__name__))
    if event == "shout":
        loud = hub.call("text", "upper", data, timeout=5.0)
        hub.publish("words", "shouted", loud)
        return loud
    if event == "letters":
        return (letter for letter in data if letter.isalpha())
    if event == "stats":
        return {"words": len(data.split()), "bytes": data.encode("utf-8")}
    raise ValueError("unknown event " + event)


hub.add_subscription("words", "shouted")
hub.provide("words", "letters", stream=True)
hub.provide("words", "stats")
hub.serve(handle)
