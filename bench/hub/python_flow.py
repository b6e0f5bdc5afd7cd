"""One Python party of bench/hub-python.bench.js, on the comm-ipc re-creation (test/fixtures/python/comm_ipc):

    python3 python_flow.py provider   ADDR            -> registers `count`, an async generator of {"chunk": i}
    python3 python_flow.py consumer   ADDR N          -> iterates channel.stream("count", {"n": N}); prints its figures
    python3 python_flow.py publisher  ADDR N EVERY    -> publishes N {"t": perf_counter()} to topic `t`,
                                                         `await asyncio.sleep(0)` every EVERY messages
    python3 python_flow.py subscriber ADDR N          -> records perf_counter() - t of each of N publications

ADDR is a socket path, or HOST:PORT. Every party prints one JSON line `{"ready": true}` once set up and, for the
measuring ones, one JSON line of results; the publisher starts on a line on stdin. time.perf_counter() is
CLOCK_MONOTONIC on Linux, the same clock in every process, so t can be subtracted across processes.
"""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "python"))
from comm_ipc import CommIPC  # noqa: E402

CHANNEL = "pybench"


def client(addr, cid):
    if ":" in addr and not addr.startswith("/"):
        host, port = addr.rsplit(":", 1)
        return CommIPC(client_id=cid, host=host, port=int(port), auto_reconnect=False)
    return CommIPC(client_id=cid, socket_path=addr, auto_reconnect=False)


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def stdin_line():
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, sys.stdin.readline)


async def provider(addr):
    c = client(addr, f"prov-{os.getpid()}")
    ch = await c.open(CHANNEL)

    async def count(data):
        cpu0 = time.process_time()
        for i in range(int(data["n"])):
            yield {"chunk": i}
        # When the provider was done and what it cost (the driver compares with the consumer's end).
        say({"generated": int(data["n"]), "end": time.perf_counter(), "cpuSeconds": time.process_time() - cpu0})

    await ch.add_event("count", count)
    say({"ready": True})
    await stdin_line()  # runs until the driver closes stdin
    await c.close()


def busy(us):
    """Burns `us` microseconds of CPU (stands for per-chunk work, e.g. comm-ipc's pydantic validation)."""
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


READS = [0, 0]  # feed_data calls and bytes: how the consumer's data arrives (many small reads or few large)
_feed = asyncio.StreamReader.feed_data


def _counting_feed(self, data):
    READS[0] += 1
    READS[1] += len(data)
    return _feed(self, data)


async def consumer(addr, n, work_us=0):
    asyncio.StreamReader.feed_data = _counting_feed
    c = client(addr, f"cons-{os.getpid()}")
    ch = await c.open(CHANNEL)
    say({"ready": True})
    await stdin_line()
    cpu0 = time.process_time()
    reads0 = list(READS)
    t0 = time.perf_counter()
    first = None
    got = 0
    bad = 0
    backlog = 0  # the most frames read but not yet consumed (in the stream's queue, or a dispatch task each)
    async for cd in ch.stream("count", {"n": n}):
        if first is None:
            first = time.perf_counter()
        if cd.data["chunk"] != got:
            bad += 1
        got += 1
        if work_us:
            busy(work_us)
        if got % 500 == 0:
            queued = sum(q.qsize() for q in c._streams.values())
            backlog = max(backlog, len(c._tasks) + queued)
    t1 = time.perf_counter()
    say({"chunks": got, "outOfOrder": bad, "seconds": t1 - t0, "perSec": got / (t1 - t0), "start": t0, "end": t1,
         "firstChunkMs": (first - t0) * 1000 if first else None, "cpuSeconds": time.process_time() - cpu0,
         "maxBacklog": backlog, "reads": READS[0] - reads0[0], "readBytes": READS[1] - reads0[1]})
    await c.close()


async def publisher(addr, n, every):
    c = client(addr, f"pub-{os.getpid()}")
    ch = await c.open(CHANNEL)
    await ch.add_subscription("t")
    say({"ready": True})
    await stdin_line()
    t0 = time.perf_counter()
    for i in range(n):
        await ch.publish("t", {"t": time.perf_counter()})
        if i % every == every - 1:
            await asyncio.sleep(0)
    t1 = time.perf_counter()
    say({"published": n, "start": t0, "end": t1, "seconds": t1 - t0})
    await stdin_line()
    await c.close()


async def subscriber(addr, n):
    c = client(addr, f"sub-{os.getpid()}")
    done = asyncio.get_running_loop().create_future()
    lat = []
    recv = []

    def on_msg(cd):
        now = time.perf_counter()
        lat.append(now - cd.data["t"])
        recv.append(now)
        if len(lat) == n and not done.done():
            done.set_result(None)

    await c.subscribe(CHANNEL, "t", on_msg)
    say({"ready": True})
    await done
    s = sorted(lat)
    pick = lambda p: s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000  # noqa: E731
    say({"received": len(lat), "meanMs": sum(lat) / len(lat) * 1000, "p50Ms": pick(50), "p99Ms": pick(99),
         "maxMs": s[-1] * 1000, "firstRecv": recv[0], "lastRecv": recv[-1],
         "sentAt": [recv[i] - lat[i] for i in (0, len(lat) // 2, len(lat) - 1)]})
    await c.close()


def main():
    role, addr = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]]
    run = {"provider": provider, "consumer": consumer, "publisher": publisher, "subscriber": subscriber}[role]
    asyncio.run(run(addr, *args))


if __name__ == "__main__":
    main()
