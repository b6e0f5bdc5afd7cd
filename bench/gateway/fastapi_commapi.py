"""Baseline of bench/gateway.bench.js: comm-ipc's CommAPI re-created on FastAPI + uvicorn over the Python
comm-ipc re-creation (test/fixtures/python/comm_ipc), as comm-ipc's api.py does it: `add_event` mounts
POST <path>, the body validated by a pydantic model built from the event's schema, `channel.event()`,
the result's `data` returned as JSON (errors: HTTPException 500 {"detail"}).

    python fastapi_commapi.py SOCKET PORT     (a Python hub on SOCKET, a Python provider of math:add, the app on PORT)
"""
import asyncio
import sys

import uvicorn
from fastapi import Body, FastAPI, HTTPException
from pydantic import BaseModel

from comm_ipc import CommIPC, CommIPCServer


class AddParams(BaseModel):
    a: int
    b: int


async def main(socket_path, port):
    server = CommIPCServer(socket_path=socket_path, server_id="py-bench")
    await server.start()
    provider = CommIPC(client_id="py-provider", socket_path=socket_path)
    pch = await provider.open("math")

    async def add(data):
        return data["a"] + data["b"]

    await pch.add_event("add", add, param_schema=AddParams.model_json_schema())
    gateway = CommIPC(client_id="py-gateway", socket_path=socket_path)
    ch = await gateway.open("math")
    app = FastAPI()

    @app.post("/add")
    async def add_route(data: AddParams = Body(...)):
        try:
            res = await ch.event("add", data.model_dump())
            return res.data
        except Exception as exc:  # noqa: BLE001
            raise HTTPException(status_code=500, detail=str(exc))

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    print("READY", flush=True)
    await srv.serve()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
