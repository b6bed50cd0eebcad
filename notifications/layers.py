"""The channel layer of the embedded default (one process, no Redis).

Channels' InMemoryChannelLayer keeps asyncio queues that belong to the server's event loop,
and its group_send drops a message silently when a socket's queue is full. This one
  - reports a full socket: group_send raises ChannelFull after trying every member, so the
    sender knows the event did not reach everyone and the dispatcher sends it again;
  - is only ever touched on the loop its sockets live on: a send from another loop (a
    thread that made its own with async_to_sync) is handed to that loop and awaited.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

# How long a send from another loop may wait for the server's loop to run it.
HOP_TIMEOUT_SECONDS = 10.0


class EmbeddedChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> None:
        """The loop of the sockets (the one that adds members and receives) owns the queues.
        A loop that has closed (a test's) leaves ownership to the next one."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop

    def _owner_elsewhere(self) -> asyncio.AbstractEventLoop | None:
        owner = self._loop
        if owner is None or owner.is_closed() or not owner.is_running():
            return None
        return None if owner is asyncio.get_running_loop() else owner

    async def receive(self, channel: str) -> Any:
        self._bind()
        return await super().receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        self._bind()
        await super().group_add(group, channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        owner = self._owner_elsewhere()
        if owner is not None:
            await _on(owner, super().send(channel, message))
            return
        await super().send(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        owner = self._owner_elsewhere()
        if owner is not None:
            await _on(owner, self._group_send_here(group, message))
            return
        await self._group_send_here(group, message)

    async def _group_send_here(self, group: str, message: dict[str, Any]) -> None:
        """Channels' group_send, but a full member is reported, not skipped in silence."""
        self.require_valid_group_name(group)
        self._clean_expired()
        full: list[str] = []
        for channel in list(self.groups.get(group, {})):
            try:
                await InMemoryChannelLayer.send(self, channel, message)
            except ChannelFull:
                full.append(channel)
        if full:
            raise ChannelFull(f"{len(full)} member(s) of {group} full")


async def _on(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    await asyncio.wait_for(asyncio.wrap_future(future), timeout=HOP_TIMEOUT_SECONDS)
