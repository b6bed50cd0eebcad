"""Websocket fan-out through the channel layer. At most once by nature: the inbox (the
Notification rows) is the truth, and clients catch up from it on reconnect."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


async def send_events(events: Iterable[tuple[str, dict[str, Any]]]) -> bool:
    """Send (group, event) pairs. Returns False if the layer failed; callers rely on the
    inbox and the next reconnect, so a failure is logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        for group, event in events:
            await layer.group_send(group, {"type": "push.event", "event": event})
    except Exception as exc:  # a channel layer that is down must not break delivery
        logger.warning("channel layer send failed: %s", type(exc).__name__)
        return False
    return True


def send_events_sync(events: list[tuple[str, dict[str, Any]]]) -> bool:
    if not events:
        return True
    return bool(async_to_sync(send_events)(events))


def close_user_sockets(user_id: int) -> None:
    """Ask every socket of this user to close (logout)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "session.logout"})
    except Exception as exc:
        logger.warning("channel layer logout failed: %s", type(exc).__name__)
