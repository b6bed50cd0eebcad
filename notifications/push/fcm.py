"""Push over Firebase Cloud Messaging (HTTP v1) with the firebase-admin SDK.

Why it is built this way:

- `send_each` opens one thread per message over a pool of 100 connections
  (firebase-admin-python issue 712). `send_each_async` uses an httpx client (HTTP/2 when
  the server speaks it); at most FCM_MAX_CONCURRENCY requests are in flight, in a sliding
  window shared by every caller in the process, spread over a few Apps (see _Runtime).
- An httpx connection pool belongs to the event loop that opened its connections:
  `asyncio.run` (or `async_to_sync`) per call makes a new loop each time, and the next
  call then fails on a pooled connection with "Event loop is closed". So the SDK's async
  clients live on one long-lived event loop in one daemon thread, and sync callers hand
  coroutines to it. One thread for the process, never one per message.
- The SDK retries 500/503 itself (up to 4 times, 0.5 s exponential backoff) but never 429.
  Whatever it gives up on comes back here as RETRY, and the dispatcher reschedules the row
  with exponential backoff, jitter and at least the Retry-After we report. The dispatcher
  never re-sends to a device whose push already succeeded.
- A 429 means the project's quota for the minute is spent, and every further request in
  the window would be refused too: the first one pauses pushing for its Retry-After, in
  every worker (push/quota.py). What the batch had not sent yet is not sent, and all of it
  comes back THROTTLED: no attempt is counted, the row waits for the end of the pause.
- Nothing about a patient goes out: the data payload is the opaque notification id, the
  title and body are the generic text of PushMessage, and results and logs carry error
  codes only, never a token or a message text.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import warnings
from collections import Counter
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import firebase_admin
import google.auth.credentials
from django.conf import settings
from firebase_admin import credentials, messaging

from backend import metrics
from notifications.push.base import Outcome, PushMessage, PushResult
from notifications.push.fcm_client import trim_per_request_work
from notifications.push.fcm_errors import (
    PushPaused,
    is_throttle,
    result_for,
    throttled_result,
)
from notifications.push.quota import push_pause, push_paused_for

logger = logging.getLogger(__name__)

APP_NAME = "iop-push"
DEFAULT_LOCAL_PROJECT = "iop-local"
# The SDK's own batch limit; more requests in flight than that would only queue.
MAX_CONCURRENCY = 500
# Per request (the SDK's default is 120 s): a hung connection holds one slot of the window
# briefly, and a batch finishes well within the dispatcher's lease (120 s by default), so
# no second dispatcher claims the rows and sends them again.
HTTP_TIMEOUT_SECONDS = 15

T = TypeVar("T")


class AnonymousCredential(credentials.Base):
    """No Google credentials: for a fake FCM server or a proxy that authenticates itself."""

    def get_credential(self) -> google.auth.credentials.Credentials:
        return google.auth.credentials.AnonymousCredentials()


@dataclass(frozen=True)
class FCMConfig:
    endpoint: str
    project_id: str
    credentials_path: str
    max_concurrency: int
    connections_per_shard: int = 10
    timeout_seconds: float = HTTP_TIMEOUT_SECONDS

    @classmethod
    def from_settings(cls) -> FCMConfig:
        concurrency = int(settings.FCM_MAX_CONCURRENCY)
        return cls(
            endpoint=settings.FCM_ENDPOINT or "",
            project_id=settings.FIREBASE_PROJECT_ID or "",
            credentials_path=settings.FIREBASE_CREDENTIALS or "",
            max_concurrency=max(1, min(MAX_CONCURRENCY, concurrency)),
        )


class _Runtime:
    """The process's firebase Apps, their messaging services and the loop that drives them.

    Several Apps, one httpx pool each: httpcore's pool does work proportional to its
    connection count on every request event (quadratic overall), so 100 requests in flight
    over HTTP/1.1 cost several times the CPU of 10 pools of 10. Over HTTP/2 each App holds
    one multiplexed connection, so the shards also spread streams over a few connections.
    An App costs a few SSL contexts to build, so the shards past the first are built on
    first use, which only a burst reaches: a quiet tick runs on the first App alone.
    """

    def __init__(self, config: FCMConfig) -> None:
        self.config = config
        self.pid = os.getpid()
        # One credential object for every App: they share its access token.
        self._credential = _credential_for(config)
        shards = math.ceil(config.max_concurrency / config.connections_per_shard)
        self.apps: list[firebase_admin.App | None] = [None] * shards
        self.services: list[Any] = [None] * shards
        # The first App now, so a configuration error shows when the backend is chosen.
        self.app_for(0)
        self.loop = asyncio.new_event_loop()
        self._slots: asyncio.LifoQueue[int] | None = None
        self._thread = threading.Thread(target=self._serve, name="fcm-push-loop", daemon=True)
        self._thread.start()

    def app_for(self, shard: int) -> firebase_admin.App:
        """The App of a shard, built on first use (on the loop thread, past the first)."""
        app = self.apps[shard]
        if app is not None:
            return app
        app = firebase_admin.initialize_app(
            self._credential,
            options=_app_options(self.config),
            # The pid keeps a forked worker from sharing the parent's Apps, whose
            # connections and loop thread did not survive the fork.
            name=f"{APP_NAME}-{self.pid}-{shard}",
        )
        service = messaging._get_messaging_service(app)
        if self.config.endpoint:
            # The SDK builds its URL from the hard-coded _MessagingService.FCM_URL and has
            # no option to change it; the service reads `_fcm_url` on every send, so
            # setting it points send, send_each and send_each_async elsewhere.
            service._fcm_url = _send_url(self.config.endpoint, app.project_id)
        trim_per_request_work(service)
        self.apps[shard], self.services[shard] = app, service
        return app

    @property
    def app(self) -> firebase_admin.App:
        return self.app_for(0)

    @property
    def service(self) -> Any:
        return self.services[0]

    def slots(self) -> asyncio.LifoQueue[int]:
        """Free request slots, each naming its shard: max_concurrency slots in all, at most
        connections_per_shard for any one shard. Last in, first out, with the first shard's
        slots on top, so light traffic stays on the first App. Only used on the loop."""
        if self._slots is None:
            self._slots = asyncio.LifoQueue()
            per_shard = self.config.connections_per_shard
            for slot in reversed(range(self.config.max_concurrency)):
                self._slots.put_nowait(slot // per_shard)
        return self._slots

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result()

    def close(self) -> None:
        async def close_clients() -> None:
            for service in self.services:
                if service is not None:
                    await service._async_client.aclose()

        apps = [app for app in self.apps if app is not None]
        try:
            # Close the pooled connections on the loop that owns them, before delete_app
            # closes each client again (a no-op by then).
            self.run(close_clients())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()
            # delete_app closes each service with asyncio.run, which refuses to start in a
            # thread whose event loop is running (an async caller): give it a fresh thread.
            deleter = threading.Thread(target=_delete_apps, args=(apps,), daemon=True)
            deleter.start()
            deleter.join(timeout=5)


def _delete_apps(apps: list[firebase_admin.App]) -> None:
    for app in apps:
        try:
            firebase_admin.delete_app(app)
        except Exception:  # closing is best effort; the names must still be freed
            logger.warning("could not close a firebase app", exc_info=True)


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def _runtime_for(config: FCMConfig) -> _Runtime:
    global _runtime
    with _runtime_lock:
        current = _runtime
        if current is not None and current.pid == os.getpid() and current.config == config:
            return current
        if current is not None and current.pid == os.getpid():
            current.close()
        _runtime = _Runtime(config)
        return _runtime


def close_fcm() -> None:
    """Close the connections and stop the loop thread (tests, and a clean shutdown)."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None


def _credential_for(config: FCMConfig) -> credentials.Base:
    if config.endpoint and not config.credentials_path:
        return AnonymousCredential()
    if config.credentials_path:
        return credentials.Certificate(config.credentials_path)
    # Workload identity or GOOGLE_APPLICATION_CREDENTIALS on a cloud host.
    return credentials.ApplicationDefault()


def _app_options(config: FCMConfig) -> dict[str, Any]:
    options: dict[str, Any] = {"httpTimeout": config.timeout_seconds}
    if config.project_id:
        options["projectId"] = config.project_id
    elif config.endpoint and not config.credentials_path:
        options["projectId"] = DEFAULT_LOCAL_PROJECT
    return options


def _send_url(endpoint: str, project_id: str) -> str:
    """FCM_ENDPOINT is the full messages:send URL; a bare base URL gets the v1 path."""
    if endpoint.endswith(":send"):
        return endpoint
    return f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"


class FCMPushBackend:
    def __init__(self, config: FCMConfig | None = None) -> None:
        self.config = config or FCMConfig.from_settings()
        _runtime_for(self.config)

    def send_many(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        if not messages:
            return []
        paused = push_paused_for()
        if paused > 0:  # another batch or worker ran into the quota: spend no request on it
            return [throttled_result(m.device_id, paused) for m in messages]
        runtime = _runtime_for(self.config)
        now = time.time()
        fcm_messages = build_messages(messages, now=now)
        outcomes = runtime.run(_send_all(runtime, fcm_messages))
        results = [
            result_for(message, error) for message, error in zip(messages, outcomes, strict=True)
        ]
        throttled = [r for r in results if r.outcome == Outcome.THROTTLED]
        if throttled:
            asked = [r.retry_after for r in throttled if r.retry_after is not None]
            pause = push_pause(seconds=max(asked) if asked else None)
            # Every throttled result waits for the whole pause, however the 429s differed.
            results = [
                throttled_result(r.device_id, pause, r.error)
                if r.outcome == Outcome.THROTTLED
                else r
                for r in results
            ]
        counts = Counter(str(r.outcome) for r in results)
        logger.info("fcm push: %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return results


async def _send_all(
    runtime: _Runtime, fcm_messages: list[messaging.Message]
) -> list[BaseException | None]:
    """Send every message with at most max_concurrency requests in flight; None is success.
    After the first 429 nothing more is sent: the rest would only be refused too."""
    slots = runtime.slots()
    throttled = False

    async def send_one(message: messaging.Message) -> BaseException | None:
        nonlocal throttled
        shard = await slots.get()
        if throttled:
            slots.put_nowait(shard)
            return PushPaused()
        try:
            batch = await messaging.send_each_async(
                [message],
                # send_each_async defaults to dry_run=True (unlike send and send_each): a
                # forgotten flag would validate every message and deliver none.
                dry_run=False,
                app=runtime.app_for(shard),
            )
        except Exception as exc:  # the SDK wraps failures of the whole call
            return exc
        finally:
            slots.put_nowait(shard)
        error = batch.responses[0].exception
        throttled = throttled or (error is not None and is_throttle(error))
        metrics.count_fcm_answer(throttled=error is not None and is_throttle(error))
        return error

    # A sliding window rather than fixed chunks: one slow answer (or the SDK sleeping
    # before its own 503 retry) holds one slot, not a whole chunk.
    return list(await asyncio.gather(*(send_one(m) for m in fcm_messages)))


def build_messages(messages: Sequence[PushMessage], *, now: float) -> list[messaging.Message]:
    with warnings.catch_warnings():
        # Message(token=...) warns that tokens are deprecated in favour of fids, but the
        # apps in the field still register tokens.
        warnings.filterwarnings(
            "ignore", message=r"Message\.token is deprecated", category=DeprecationWarning
        )
        return [_build_message(m, now=now) for m in messages]


def _build_message(message: PushMessage, *, now: float) -> messaging.Message:
    ttl = message.ttl_seconds
    # Push is at least once (a worker killed after FCM accepted a message and before the
    # result was written sends it again). The notification's id as the collapse key makes a
    # repeat replace the first on the phone: the Android tag replaces a shown notification,
    # the collapse key one still waiting for the device, apns-collapse-id both on iOS.
    collapse_id = str(message.notification_id)
    apns_headers: dict[str, str] = {"apns-collapse-id": collapse_id}
    webpush_headers: dict[str, str] = {}
    if ttl is not None:
        apns_headers["apns-expiration"] = str(int(now) + ttl)
        webpush_headers["TTL"] = str(ttl)
    if message.urgent:
        apns_headers["apns-priority"] = "10"
        webpush_headers["Urgency"] = "high"
    target: dict[str, str] = (
        {"fid": message.address} if message.address_kind == "fid" else {"token": message.address}
    )
    return messaging.Message(
        data=message.data(),
        notification=messaging.Notification(title=message.title, body=message.body),
        android=messaging.AndroidConfig(
            ttl=ttl,
            priority="high" if message.urgent else None,
            collapse_key=collapse_id,
            notification=messaging.AndroidNotification(tag=collapse_id),
        ),
        apns=messaging.APNSConfig(headers=apns_headers),
        webpush=messaging.WebpushConfig(headers=webpush_headers or None),
        **target,
    )
