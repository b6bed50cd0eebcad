"""The production channel layer on a real Redis: a burst goes out in one batch and is taken
off in batches, and a full queue is reported instead of counted as sent."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer
from django.test import override_settings

from notifications.realtime import send_each
from notifications.redis_layer import BurstRedisChannelLayer
from tests.integration.processes import RedisServer, free_port

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server on PATH"
)


Config = dict[str, Any]


def event(n: int) -> dict[str, Any]:
    return {"type": "push.event", "event": {"type": "notification", "id": n}}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(directory=Path(tmp_path_factory.mktemp("redis")), port=free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def layer_config(redis_url: str) -> Iterator[dict[str, Any]]:
    import redis

    yield {"hosts": [redis_url], "prefix": "t"}
    redis.Redis.from_url(redis_url).flushdb()


async def sockets(layer: RedisChannelLayer, count: int) -> list[str]:
    """`count` sockets of one process, each in its own user's group."""
    channels = [await layer.new_channel() for _ in range(count)]
    for n, channel in enumerate(channels):
        await layer.group_add(f"user.{n}", channel)
    return channels


async def test_a_burst_to_many_groups_reaches_each_socket_once(layer_config: Config) -> None:
    config = {**layer_config, "channel_capacity": {"specific.*": 300}}
    sender = BurstRedisChannelLayer(**config)
    server = BurstRedisChannelLayer(**config)
    channels = await sockets(server, 300)

    made = await sender.group_send_many([(f"user.{n}", event(n)) for n in range(300)])

    assert made == [True] * 300
    received = await asyncio.wait_for(
        asyncio.gather(*(server.receive(channel) for channel in channels)), 10
    )
    assert [m["event"]["id"] for m in received] == list(range(300))
    await server.wait_received()
    queue = server.prefix + server.non_local_name(channels[0])
    assert await server.connection(0).exists(queue, server._backup_channel_name(queue)) == 0
    await sender.close_pools()
    await server.close_pools()


async def test_a_full_queue_is_reported_per_event_the_others_arrive(layer_config: Config) -> None:
    config = {**layer_config, "channel_capacity": {"specific.*": 2}}
    sender = BurstRedisChannelLayer(**config)
    server = BurstRedisChannelLayer(**config)
    channels = await sockets(server, 3)

    made = await sender.group_send_many([(f"user.{n}", event(n)) for n in range(3)])

    assert made == [True, True, False]  # the process's queue holds two
    first, second = await asyncio.wait_for(
        asyncio.gather(server.receive(channels[0]), server.receive(channels[1])), 5
    )
    assert (first["event"]["id"], second["event"]["id"]) == (0, 1)
    await sender.group_send("user.0", event(10))
    await sender.group_send("user.1", event(11))
    with pytest.raises(ChannelFull):
        await sender.group_send("user.2", event(12))
    await sender.close_pools()
    await server.close_pools()


async def test_a_group_nobody_is_in_counts_as_sent(layer_config: Config) -> None:
    sender = BurstRedisChannelLayer(**layer_config)

    assert await sender.group_send_many([("user.404", event(1))]) == [True]
    await sender.close_pools()


async def test_a_socket_in_two_processes_gets_the_event_in_both(layer_config: Config) -> None:
    sender = BurstRedisChannelLayer(**layer_config)
    web_a = BurstRedisChannelLayer(**layer_config)
    web_b = BurstRedisChannelLayer(**layer_config)
    phone, laptop = await web_a.new_channel(), await web_b.new_channel()
    await web_a.group_add("user.1", phone)
    await web_b.group_add("user.1", laptop)

    assert await sender.group_send_many([("user.1", event(7))]) == [True]

    got = await asyncio.wait_for(asyncio.gather(web_a.receive(phone), web_b.receive(laptop)), 5)
    assert [m["event"]["id"] for m in got] == [7, 7]
    for layer in (sender, web_a, web_b):
        await layer.close_pools()


async def test_it_reads_what_the_stock_layer_wrote_and_back(layer_config: Config) -> None:
    """Same keys and encoding as channels_redis: processes of either kind interoperate
    during a rolling deploy."""
    stock = RedisChannelLayer(**layer_config)
    burst = BurstRedisChannelLayer(**layer_config)
    mine, theirs = await burst.new_channel(), await stock.new_channel()
    await burst.group_add("user.1", mine)
    await stock.group_add("user.2", theirs)

    await stock.group_send("user.1", event(1))
    assert await burst.group_send_many([("user.2", event(2))]) == [True]

    assert (await asyncio.wait_for(burst.receive(mine), 5))["event"]["id"] == 1
    assert (await asyncio.wait_for(stock.receive(theirs), 5))["event"]["id"] == 2
    await stock.close_pools()
    await burst.close_pools()


async def test_the_dispatcher_sees_the_event_a_full_queue_refused(layer_config: Config) -> None:
    config = {**layer_config, "channel_capacity": {"specific.*": 1}}
    server = BurstRedisChannelLayer(**config)
    channels = await sockets(server, 2)
    layers = {"default": {"BACKEND": "notifications.redis_layer.BurstRedisChannelLayer"}}
    layers["default"]["CONFIG"] = config  # type: ignore[assignment]

    with override_settings(CHANNEL_LAYERS=layers):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        try:
            made = await send_each([("user.0", {"id": 1}), ("user.1", {"id": 2})])
        finally:
            for backend in channel_layers.backends.values():
                await backend.close_pools()
            channel_layers.backends.clear()

    assert made == [True, False]
    assert (await asyncio.wait_for(server.receive(channels[0]), 5))["event"] == {"id": 1}
    await server.close_pools()
