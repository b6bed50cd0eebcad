"""Websocket fan-out through the channel layer. At most once by nature: the inbox (the
Notification rows) is the truth, and clients catch up from it on reconnect. A send the layer
did not make (it raised, or a socket's queue was full) is reported as not made, so the
dispatcher sends it again rather than counting it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


async def send_each(events: Sequence[tuple[str, dict[str, Any]]]) -> list[bool]:
    """Send (group, event) pairs; for each, whether it reached every socket of the group.
    A full socket fails only its own events; a layer that fails otherwise (down) fails the
    rest of the batch without trying each. Logged, never raised. A layer that sends in
    batches (notifications.redis_layer) gets the whole batch at once."""
    layer = get_channel_layer()
    if layer is None:
        return [False] * len(events)
    if hasattr(layer, "group_send_many"):  # production's layer: the batch in one go
        try:
            return list(
                await layer.group_send_many(
                    [(group, {"type": "push.event", "event": event}) for group, event in events]
                )
            )
        except Exception as exc:  # a channel layer that is down must not break delivery
            logger.warning("channel layer send failed: %s", type(exc).__name__)
            return [False] * len(events)
    made: list[bool] = []
    for group, event in events:
        try:
            await layer.group_send(group, {"type": "push.event", "event": event})
        except ChannelFull:
            logger.warning("channel layer full, event %s not sent", event.get("id"))
            made.append(False)
            continue
        except Exception as exc:  # a channel layer that is down must not break delivery
            logger.warning("channel layer send failed: %s", type(exc).__name__)
            return made + [False] * (len(events) - len(made))
        made.append(True)
    return made


async def send_events(events: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Send (group, event) pairs. True only if every one was made."""
    return all(await send_each(events))


def send_each_sync(events: Sequence[tuple[str, dict[str, Any]]]) -> list[bool]:
    """`send_each` from synchronous code. Called from a thread that asgiref started for the
    server (a request, or an in-process job), the sends run on the server's own loop."""
    if not events:
        return []
    return list(async_to_sync(send_each)(events))


def send_events_sync(events: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    return all(send_each_sync(events))


def close_user_sockets(user_id: int) -> None:
    """Ask every socket of this user to close (logout)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "session.logout"})
    except Exception as exc:
        logger.warning("channel layer logout failed: %s", type(exc).__name__)
