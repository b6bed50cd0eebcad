"""The one websocket endpoint, `/ws/events/`, for patients and staff.

Authentication: a JWT access token, never in the URL. Either as the subprotocol pair
`["bearer", <token>]` (the server answers with "bearer"), or as the first message
`{"type": "auth", "token": ...}` within WEBSOCKET_AUTH_TIMEOUT_SECONDS.

Events are `{"type": "notification", "id": ...}`; the client acknowledges with
`{"type": "ack", "ids": [...]}`. On (re)connect the server replays every delivered
notification the client has not acknowledged, and `{"type": "resume", "after": id}` asks
for everything after the last id seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from backend import metrics
from notifications import selectors
from notifications.acks import ack_received
from notifications.presence import heard_from
from notifications.realtime import user_group
from notifications.tokens import user_for_access_token

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_LARGE = 4413
CLOSE_FLOOD = 4429
CLOSE_LOGGED_OUT = 4403
MAX_FRAME_BYTES = 64 * 1024
MAX_MESSAGES_PER_10S = 50


class EventsConsumer(AsyncJsonWebsocketConsumer):
    user_id: int | None = None
    groups_joined: list[str]
    heard_at = float("-inf")  # monotonic time this socket last noted the app as heard from

    async def connect(self) -> None:
        self.groups_joined = []
        self.message_times: list[float] = []
        self.expiry_task: asyncio.Task[None] | None = None
        self.auth_timeout: asyncio.Task[None] | None = None
        protocols: list[str] = self.scope.get("subprotocols", [])
        if len(protocols) >= 2 and protocols[0] == "bearer":
            found = await database_sync_to_async(user_for_access_token)(protocols[1])
            await self.accept(subprotocol="bearer")
            if found is None:  # 4401 after the handshake, as in asyncapi.yaml: not an HTTP 403
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            await self._authenticated(*found)
            return
        await self.accept()
        self.auth_timeout = asyncio.create_task(self._close_if_silent())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        metrics.WEBSOCKETS_OPEN.inc()
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A send to a client that is gone raises out of the consumer without a
            # websocket.disconnect ever being read, so disconnect() may never run: the
            # timers must not outlive the consumer and fail on the dead connection later.
            self._cancel_timers()
            metrics.WEBSOCKETS_OPEN.dec()

    def _cancel_timers(self) -> None:
        for task in (getattr(self, "expiry_task", None), getattr(self, "auth_timeout", None)):
            if task is not None:
                task.cancel()

    async def _close_quietly(self, code: int) -> None:
        """Close from a timer, which nobody awaits: a client that left meanwhile makes
        uvicorn raise ClientDisconnected (an OSError), and there is nothing left to close."""
        with contextlib.suppress(OSError):
            await self.close(code=code)

    async def _close_if_silent(self) -> None:
        await asyncio.sleep(settings.WEBSOCKET_AUTH_TIMEOUT_SECONDS)
        if self.user_id is None:
            await self._close_quietly(CLOSE_UNAUTHENTICATED)

    async def _close_at_expiry(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self._close_quietly(CLOSE_UNAUTHENTICATED)

    async def _authenticated(self, user: Any, expires_at: float) -> None:
        self.user_id = user.id
        # Every event, for every role, is a row of the user's own: one group per user.
        groups = [user_group(user.id)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        self.expiry_task = asyncio.create_task(self._close_at_expiry(expires_at))
        await self.send_json({"type": "ready", "user_id": user.id})
        await self._replay(after=None)
        await self._heard()

    async def _heard(self) -> None:
        """Note the app as heard from, at most once per resolution window per socket."""
        now = time.monotonic()
        if self.user_id is None or now - self.heard_at < settings.APP_HEARD_RESOLUTION_SECONDS:
            return
        self.heard_at = now
        await database_sync_to_async(heard_from)(user_id=self.user_id)

    async def _replay(self, *, after: int | None) -> None:
        assert self.user_id is not None
        events = await database_sync_to_async(selectors.replay_events)(
            user_id=self.user_id, after=after
        )
        for event in events:
            await self.send_json(event)
        metrics.WEBSOCKET_EVENTS_SENT.inc(len(events))

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        raw = message.get("text") or message.get("bytes") or b""
        if len(raw) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_LARGE)
            return
        now = time.monotonic()
        self.message_times = [t for t in self.message_times if now - t < 10.0]
        self.message_times.append(now)
        if len(self.message_times) > MAX_MESSAGES_PER_10S:
            await self.close(code=CLOSE_FLOOD)
            return
        await super().websocket_receive(message)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "message": "Send a JSON object."})
            return
        kind = content.get("type")
        if self.user_id is None:
            if kind == "auth" and isinstance(content.get("token"), str):
                found = await database_sync_to_async(user_for_access_token)(content["token"])
                if found is None:
                    await self.close(code=CLOSE_UNAUTHENTICATED)
                    return
                if self.auth_timeout:
                    self.auth_timeout.cancel()
                await self._authenticated(*found)
            else:
                await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self._heard()
        if kind == "ack":
            ids = content.get("ids", [content.get("id")])
            clean = [i for i in ids if isinstance(i, int)][:500] if isinstance(ids, list) else []
            await ack_received(user_id=self.user_id, ids=clean)
            metrics.WEBSOCKET_EVENTS_ACKED.inc(len(clean))
        elif kind == "resume":
            after = content.get("after")
            await self._replay(after=after if isinstance(after, int) else None)
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": "Unknown message type."})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its hop to the one synchronous thread before every
        message (to close stale database connections): every database call here goes
        through database_sync_to_async, which closes them itself, and an event on its way
        to a socket must not queue behind other sockets' database work (in a burst, it
        did: one hop per event and per ack on that single thread)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def push_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
        metrics.WEBSOCKET_EVENTS_SENT.inc()

    async def session_logout(self, message: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)

    async def disconnect(self, code: int) -> None:
        self._cancel_timers()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
