"""The embedded default's channel layer: a full socket is reported, and a send from another
thread reaches a socket waiting on the server's own loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull

from notifications.layers import EmbeddedChannelLayer

EVENT = {"type": "push.event", "event": {"id": 1}}


async def test_a_full_socket_is_reported_and_the_others_still_get_the_event():
    layer = EmbeddedChannelLayer(capacity=1)
    await layer.group_add("user.1", "specific.full!a")
    await layer.group_add("user.1", "specific.free!b")
    await layer.send("specific.full!a", EVENT)  # this socket's queue is now full

    with pytest.raises(ChannelFull):
        await layer.group_send("user.1", EVENT)
    assert await layer.receive("specific.free!b") == EVENT


def test_a_send_from_another_thread_wakes_the_socket_on_its_own_loop():
    """A scheduler thread's async_to_sync makes a loop of its own; the socket's queue
    belongs to the server's loop, which must be woken there, not poked from outside."""
    layer = EmbeddedChannelLayer()
    server_loop = asyncio.new_event_loop()
    server = threading.Thread(target=server_loop.run_forever, daemon=True)
    server.start()
    try:
        asyncio.run_coroutine_threadsafe(
            layer.group_add("user.1", "specific.s!a"), server_loop
        ).result(timeout=5)
        received = asyncio.run_coroutine_threadsafe(layer.receive("specific.s!a"), server_loop)
        time.sleep(0.2)  # the socket is now waiting on the server's loop

        async_to_sync(layer.group_send)("user.1", EVENT)  # from this thread, on a new loop

        assert received.result(timeout=3) == EVENT
    finally:
        server_loop.call_soon_threadsafe(server_loop.stop)
        server.join(timeout=5)
        server_loop.close()
