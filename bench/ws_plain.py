"""A bare websockets server for bench.websocket: how fast the bench's own clients can take
a burst, with no Django, no channel layer and no database behind the sockets.

It speaks just enough of /ws/events/ for the bench's clients (answers the subprotocol
"bearer", sends "ready", reads and drops acks). A connection to /go is the trigger: the
server then sends one notification-shaped event (the same size as the real one) to every
other socket at once and closes /go. Not a benchmark of its own (no `run`).

    .venv/bin/python -m bench.ws_plain PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
from typing import Any

EVENT = {
    "type": "notification",
    "id": 1,
    "kind": "session_reminder",
    "title": "Process group at 6 pm",
    "body": "Group therapy with your counselor tonight.",
    "payload": {},
    "urgent": False,
    "created_at": "2026-12-01T06:00:00+00:00",
}


async def main(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Subprotocol

    sockets: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        if ws.request is not None and ws.request.path == "/go":
            broadcast(sockets, json.dumps(EVENT))
            await ws.close()
            return
        sockets.add(ws)
        try:
            await ws.send(json.dumps({"type": "ready", "user_id": 0}))
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass
        finally:
            sockets.discard(ws)

    def choose(ws: Any, offered: Any) -> Subprotocol | None:
        return Subprotocol("bearer") if "bearer" in offered else None

    async with serve(handler, "127.0.0.1", port, select_subprotocol=choose, ping_interval=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(int(sys.argv[1])))
