"""Websocket acks, written together: a burst of events to every connected patient comes
back as a burst of acks, one UPDATE each, all queued on the server's one database thread
while events still go out. Instead, the acks that arrive while a write is in flight wait
and go in the next write (two statements whatever their number); a socket still awaits its
own ack's write before it reads its next message, as before."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from notifications.services import notifications_receive_many


@dataclass
class _Pending:
    acks: list[tuple[int, list[int], asyncio.Future[None]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


# One queue per event loop (the server has one; tests make a loop per test).
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = (
    weakref.WeakKeyDictionary()
)


async def ack_received(*, user_id: int, ids: list[int]) -> None:
    """Record that `user_id`'s socket received `ids`; returns once that is written."""
    loop = asyncio.get_running_loop()
    pending = _queues.setdefault(loop, _Pending())
    written: asyncio.Future[None] = loop.create_future()
    pending.acks.append((user_id, ids, written))
    if pending.writer is None or pending.writer.done():
        pending.writer = loop.create_task(_write_all(pending))
    await written


async def _write_all(pending: _Pending) -> None:
    while pending.acks:
        batch, pending.acks = pending.acks, []
        try:
            await database_sync_to_async(notifications_receive_many)(
                receipts=[(user_id, ids) for user_id, ids, _ in batch], channel="websocket"
            )
        except Exception as exc:  # each waiting socket sees its own write fail
            for _, _, written in batch:
                if not written.done():
                    written.set_exception(exc)
            continue
        for _, _, written in batch:
            if not written.done():
                written.set_result(None)
