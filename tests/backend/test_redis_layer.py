"""The Redis channel layer after Redis restarts: the first command on a pooled connection
works, so the first websocket to connect after a restart or failover gets `ready`.

A tiny RESP server on loopback stands in for Redis: it acknowledges every command and can
drop every open connection, which is what a restart does to the pool's sockets.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

pytestmark = pytest.mark.asyncio


class RestartingRedis:
    def __init__(self) -> None:
        self.writers: set[asyncio.StreamWriter] = set()
        self.commands: list[list[bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while line := await reader.readline():
                args = []
                for _ in range(int(line[1:])):
                    size = int((await reader.readline())[1:])
                    args.append((await reader.readexactly(size + 2))[:-2])
                self.commands.append(args)
                writer.write(b":1\r\n" if args[0].upper() in (b"ZADD", b"EXPIRE") else b"+OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return

    def restart(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def names(self) -> list[bytes]:
        return [command[0].upper() for command in self.commands]


async def test_the_first_group_add_after_a_redis_restart_succeeds() -> None:
    redis = RestartingRedis()
    server = await asyncio.start_server(redis.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    host: dict[str, Any] = {
        "address": f"redis://127.0.0.1:{port}/0",
        **settings.CHANNEL_LAYER_REDIS_OPTIONS,
    }
    layer = RedisChannelLayer(hosts=[host])
    try:
        await layer.group_add("user.1", "specific.a!b")
        redis.restart()
        await asyncio.sleep(0.05)

        await layer.group_add("user.1", "specific.c!d")

        assert redis.names().count(b"ZADD") == 2
    finally:
        await layer.flush()
        server.close()
        await server.wait_closed()
