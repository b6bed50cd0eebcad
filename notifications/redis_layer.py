"""The production channel layer: channels_redis's, made for bursts (a reminder due for
every connected patient at once) and honest about full queues.

channels_redis 4.3 (pinned) pays Redis round trips per event on both ends: `group_send`
takes four per group, and a server process takes every message off its one inbound queue
(all of its sockets share it) with four more, one message at a time. Its `group_send`
also drops a message in silence when that queue is full. This layer keeps its storage
(the same keys, scripts, expiry and backup queue, so both kinds of process interoperate)
and changes three things:

- `group_send_many` sends a batch of (group, message) pairs in one pipeline of group
  lookups and one script per shard, and says for each pair whether it reached every
  member: a full queue is reported, never counted as sent;
- a receiving process takes up to `receive_batch` waiting messages per round trip and
  hands them to their sockets' buffers;
- `group_send` raises ChannelFull when a member's queue was full (as `send` does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

# Appends ARGV[i] to KEYS[i] unless that key already holds its capacity (ARGV[n + i]),
# after dropping expired entries; returns the 1-based positions that were full. A key may
# appear more than once (every socket of a process shares that process's queue).
SEND_MANY_LUA = """
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
local expiry = tonumber(ARGV[2 * n + 2])
local full = {}
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
    if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        full[#full + 1] = i
    end
end
return full
"""

# channels_redis's receive, for many messages: put back what a cancelled receive left in
# the backup queue, then move up to ARGV[1] messages from the queue to the backup (the
# caller deletes the backup once they are handed over) and return them.
RECEIVE_MANY_LUA = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
return popped
"""

# Each group's members, after dropping those past the group expiry (ARGV[1]): one call
# instead of two commands per group, which redis-py packs and parses one by one.
MEMBERS_LUA = """
local out = {}
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
    out[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
end
return out
"""

# Entries per script call: a burst of thousands is cut so Redis serves others in between.
SEND_CHUNK = 500


class BurstRedisChannelLayer(RedisChannelLayer):
    receive_batch = 200

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        (made,) = await self.group_send_many([(group, message)])
        if not made:
            raise ChannelFull(f"a member of {group} is full")

    async def group_send_many(self, sends: Sequence[tuple[str, dict[str, Any]]]) -> list[bool]:
        """Send each message to its group; for each pair, whether every member's queue took
        it (a group without members: True, there is nobody to miss it). Raises if Redis
        fails before anything was sent; a failure part way reports the rest as not made."""
        members = await self._members_of([group for group, _ in sends])
        per_shard: dict[int, list[tuple[int, bytes, bytes, int]]] = defaultdict(list)
        for position, ((_, message), channels) in enumerate(zip(sends, members, strict=True)):
            shards, payloads, capacities = self._map_channel_keys_to_connection(channels, message)
            for shard, keys in shards.items():
                for key in keys:
                    per_shard[shard].append((position, key, payloads[key], capacities[key]))
        made = [True] * len(sends)
        for shard, entries in per_shard.items():
            for start in range(0, len(entries), SEND_CHUNK):
                chunk = entries[start : start + SEND_CHUNK]
                try:
                    full = await self.connection(shard).eval(
                        SEND_MANY_LUA,
                        len(chunk),
                        *(key for _, key, _, _ in chunk),
                        *(payload for _, _, payload, _ in chunk),
                        *(capacity for _, _, _, capacity in chunk),
                        time.time(),
                        int(self.expiry),
                    )
                except Exception as exc:
                    logger.warning("channel layer send failed: %s", type(exc).__name__)
                    for position, *_ in entries[start:]:
                        made[position] = False
                    break
                for index in full:
                    made[chunk[int(index) - 1][0]] = False
        if not all(made):
            logger.warning("channel layer full: %d of %d not sent", made.count(False), len(made))
        return made

    async def _members_of(self, groups: Sequence[str]) -> list[list[str]]:
        """Each group's channels, after dropping expired ones: one script call per shard
        (and per SEND_CHUNK groups)."""
        by_shard: dict[int, list[int]] = defaultdict(list)
        for position, group in enumerate(groups):
            assert self.require_valid_group_name(group), "Group name not valid"
            by_shard[self.consistent_hash(group)].append(position)
        members: list[list[str]] = [[] for _ in groups]
        cutoff = int(time.time()) - self.group_expiry
        for shard, positions in by_shard.items():
            for start in range(0, len(positions), SEND_CHUNK):
                chunk = positions[start : start + SEND_CHUNK]
                replies = await self.connection(shard).eval(
                    MEMBERS_LUA,
                    len(chunk),
                    *(self._group_key(groups[position]) for position in chunk),
                    cutoff,
                )
                for position, names in zip(chunk, replies, strict=True):
                    members[position] = [name.decode("utf8") for name in names]
        return members

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """The process's queue: take what is waiting (up to `receive_batch`), give all but
        the first to their sockets' buffers, return the first. Called by `receive` with
        the receive lock held; nothing is awaited between the reply and the buffering, so
        a cancelled receive leaves its messages in the backup queue for the next one."""
        if "!" not in channel:
            return await super().receive_single(channel)
        index = self.consistent_hash(channel)
        key = self.prefix + channel
        backup = self._backup_channel_name(key)
        connection = self.connection(index)
        await self.receive_clean_locks.acquire(key)
        try:
            popped = await connection.eval(RECEIVE_MANY_LUA, 2, key, backup, self.receive_batch)
            contents: list[bytes] = list(popped[0::2])
            while not contents:
                content = await self._brpop_with_clean(index, key, timeout=self.brpop_timeout)
                if content is not None:
                    contents = [content]
            cleaner = asyncio.ensure_future(connection.delete(backup))
            self.receive_cleaners.append(cleaner)

            def cleaned(done: asyncio.Future[Any]) -> None:
                self.receive_cleaners.remove(done)
                self.receive_clean_locks.release(key)

            cleaner.add_done_callback(cleaned)
        except BaseException:
            self.receive_clean_locks.release(key)
            raise
        first, *rest = (self._unpack(content, channel) for content in contents)
        for target, message in rest:
            for name in target if isinstance(target, list) else [target]:
                self.receive_buffer[name].put_nowait(message)
        return first

    def _unpack(self, content: bytes, channel: str) -> tuple[Any, dict[str, Any]]:
        message = self.deserialize(content)
        target = message.pop("__asgi_channel__", channel)
        return target, message
