"""A plugin in Python: replies to each message with a JSON word count.
It reads $PIPE_IO_READ_PIPE and writes $PIPE_IO_WRITE_PIPE (set by the host)."""
import json
import os
import sys

print("wordcount.py: started (pid %d)" % os.getpid(), file=sys.stderr, flush=True)
with open(os.environ["PIPE_IO_READ_PIPE"], encoding="utf-8") as requests, \
        open(os.environ["PIPE_IO_WRITE_PIPE"], "w", encoding="utf-8", buffering=1) as replies:
    for line in requests:
        text = line.rstrip("\n")
        replies.write(json.dumps({"text": text, "words": len(text.split())}) + "\n")
