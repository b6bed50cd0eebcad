"""A real websocket client (the `websockets` library) as a phone or a dashboard uses it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol


class EventSocket:
    """Connected to /ws/events/ with the access token as the subprotocol pair
    ["bearer", <jwt>]; keeps every event it received, in order."""

    def __init__(self, base_url: str, access_token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._stack = contextlib.ExitStack()
        self.connection: ClientConnection = self._stack.enter_context(
            connect(
                f"{base_url}/ws/events/",
                subprotocols=[Subprotocol("bearer"), Subprotocol(access_token)],
                proxy=None,  # loopback only, whatever the environment says
                open_timeout=10,
                max_queue=1024,
            )
        )
        assert self.connection.subprotocol == "bearer"

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
    ) -> dict[str, Any]:
        for event in self.events:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}; got {self.events}"
                )
            try:
                raw = self.connection.recv(timeout=remaining)
            except TimeoutError:
                continue
            event = json.loads(raw)
            self.events.append(event)
            if predicate(event):
                return event

    def drain(self, seconds: float) -> None:
        """Collect whatever arrives during `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.connection.recv(timeout=remaining)))
            except TimeoutError:
                return

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send(json.dumps(message))

    def notifications(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event.get("type") == "notification" and (kind is None or event.get("kind") == kind)
        ]

    def close(self) -> None:
        self._stack.close()
