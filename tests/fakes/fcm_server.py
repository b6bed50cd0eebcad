"""A fake FCM HTTP v1 server on loopback, for tests and the dispatch benchmark.

The real firebase-admin SDK talks to it over real HTTP, so the SDK's encoding, error
parsing and retries run unmodified. The answer depends on the target's prefix:

    dead-      404 NOT_FOUND, errorCode UNREGISTERED
    invalid-   400 INVALID_ARGUMENT "The registration token is not a valid FCM registration token"
    mismatch-  403 PERMISSION_DENIED, errorCode SENDER_ID_MISMATCH
    badarg-    400 INVALID_ARGUMENT about the payload, not the target
    throttle-  429 with Retry-After: 1 the first time per target, then success
    flaky-     503 the first `flaky_failures` times per target, then success
    otherwise  200 {"name": "projects/<p>/messages/<n>"}

With `quota_per_minute`, once that many messages were accepted in the current wall-clock
minute every send gets 429 with a Retry-After up to the next minute (FCM's per-project
quota, scaled down), which is what a top-of-the-hour burst runs into.

It is uvicorn with a bare ASGI app: one event loop serves many keep-alive connections, and
the per-request latency is an `asyncio.sleep`, so a latency of 20 ms costs no thread.

In a test::

    with FakeFCMServer(latency_ms=0) as fcm:
        settings.FCM_ENDPOINT = fcm.url
        ...
        assert fcm.targets() == [...]

As a process (prints its messages:send URL on the first line of stdout)::

    python -m tests.fakes.fcm_server --port 0 --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SEND_PATH = re.compile(r"/v1/projects/(?P<project>[^/]+)/messages:send")
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
TARGET_KEYS = ("token", "fid", "topic", "condition")

Answer = tuple[int, dict[str, Any], dict[str, str]]


def _error(code: int, status: str, message: str, fcm_code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if fcm_code is not None:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return {"error": error}


class FakeFCMServer:
    """A fake FCM v1 `messages:send` endpoint. Thread-safe to inspect while it serves."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        quota_per_minute: int | None = None,
        flaky_failures: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        project: str = "iop-local",
    ) -> None:
        self.latency_s = latency_ms / 1000.0
        self.quota_per_minute = quota_per_minute
        self.flaky_failures = flaky_failures
        self.host = host
        self.project = project
        self._requested_port = port
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._received: list[dict[str, Any]] = []
        self._attempts: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._requests = 0
        self._dry_runs = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._quota_window = -1
        self._quota_used = 0
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- what tests read -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the fake FCM server is not bound yet")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The full messages:send endpoint, the value for FCM_ENDPOINT."""
        return f"{self.base_url}/v1/projects/{self.project}/messages:send"

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every message accepted with a 200 (the `message` object of the request), in order.
        Dry runs (validate_only) are not deliveries and are only counted in `dry_runs`."""
        with self._lock:
            return list(self._received)

    @property
    def requests(self) -> int:
        """Every POST to messages:send, whatever the answer."""
        with self._lock:
            return self._requests

    @property
    def dry_runs(self) -> int:
        with self._lock:
            return self._dry_runs

    @property
    def max_in_flight(self) -> int:
        """The most send requests the server was answering at one time."""
        with self._lock:
            return self._max_in_flight

    @property
    def statuses(self) -> dict[int, int]:
        """How many answers of each HTTP status were given."""
        with self._lock:
            return dict(self._statuses)

    def attempts(self, target: str) -> int:
        """How many requests named this token or fid, successful or not."""
        with self._lock:
            return self._attempts[target]

    def targets(self) -> list[str]:
        """The token or fid of every successfully delivered message, in order."""
        return [_target_of(message) or "" for message in self.received]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "accepted": len(self._received),
                "dry_runs": self._dry_runs,
                "max_in_flight": self._max_in_flight,
                "statuses": {str(k): v for k, v in self._statuses.items()},
            }

    def reset(self) -> None:
        """Forget everything received, and every target's throttle and flaky history."""
        with self._lock:
            self._received.clear()
            self._attempts.clear()
            self._statuses.clear()
            self._requests = 0
            self._dry_runs = 0
            self._max_in_flight = self._in_flight
            self._quota_window = -1
            self._quota_used = 0

    # --- answering -----------------------------------------------------------------------

    def answer_send(self, project: str, body: bytes) -> Answer:
        try:
            request = json.loads(body)
            message = request["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self._requests += 1
            return 400, _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), {}
        target = _target_of(message)
        with self._lock:
            self._requests += 1
            if target is None:
                return (
                    400,
                    _error(400, "INVALID_ARGUMENT", "Exactly one target must be set."),
                    {},
                )
            self._attempts[target] += 1
            seen = self._attempts[target]
            if request.get("validate_only"):
                self._dry_runs += 1
                return 200, {"name": f"projects/{project}/messages/fake_message_id"}, {}
            return self._answer_locked(project, target, seen, message)

    def _answer_locked(
        self, project: str, target: str, seen: int, message: dict[str, Any]
    ) -> Answer:
        if target.startswith("dead-"):
            return (
                404,
                _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
                {},
            )
        if target.startswith("invalid-"):
            text = "The registration token is not a valid FCM registration token"
            return 400, _error(400, "INVALID_ARGUMENT", text, "INVALID_ARGUMENT"), {}
        if target.startswith("mismatch-"):
            text = "SenderId mismatch"
            return 403, _error(403, "PERMISSION_DENIED", text, "SENDER_ID_MISMATCH"), {}
        if target.startswith("badarg-"):
            text = "Invalid value at 'message.android.ttl' (google.protobuf.Duration)"
            return 400, _error(400, "INVALID_ARGUMENT", text, "INVALID_ARGUMENT"), {}
        if target.startswith("throttle-") and seen == 1:
            return self._throttled(retry_after=1)
        if target.startswith("flaky-") and seen <= self.flaky_failures:
            text = "The service is currently unavailable."
            return 503, _error(503, "UNAVAILABLE", text, "UNAVAILABLE"), {}
        if self.quota_per_minute is not None:
            now = time.time()
            window = int(now // 60)
            if window != self._quota_window:
                self._quota_window, self._quota_used = window, 0
            if self._quota_used >= self.quota_per_minute:
                return self._throttled(retry_after=max(1, math.ceil((window + 1) * 60 - now)))
            self._quota_used += 1
        self._received.append(message)
        return 200, {"name": f"projects/{project}/messages/{next(self._ids)}"}, {}

    @staticmethod
    def _throttled(*, retry_after: int) -> Answer:
        text = "Quota exceeded for quota metric 'Messages' of service 'fcm.googleapis.com'."
        body = _error(429, "RESOURCE_EXHAUSTED", text, "QUOTA_EXCEEDED")
        return 429, body, {"retry-after": str(retry_after)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        more = True
        while more:
            event = await receive()
            chunks.append(event.get("body", b""))
            more = bool(event.get("more_body", False))
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            status, payload, headers = self._route(scope["method"], scope["path"], b"".join(chunks))
            if self.latency_s and scope["path"] != "/_stats":
                await asyncio.sleep(self.latency_s)
        finally:
            with self._lock:
                self._in_flight -= 1
        data = json.dumps(payload).encode()
        raw_headers = [
            (b"content-type", b"application/json; charset=UTF-8"),
            (b"content-length", str(len(data)).encode()),
            *((k.encode(), v.encode()) for k, v in headers.items()),
        ]
        self._count_status(status)
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": data})

    def _route(self, method: str, path: str, body: bytes) -> Answer:
        match = SEND_PATH.fullmatch(path)
        if match and method == "POST":
            return self.answer_send(match["project"], body)
        if path == "/_stats" and method == "GET":
            return 200, self.stats(), {}
        if path == "/_reset" and method == "POST":
            self.reset()
            return 200, {}, {}
        return 404, _error(404, "NOT_FOUND", "Not found."), {}

    def _count_status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    # --- running -------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(2048)
        sock.setblocking(False)
        self._socket = sock
        self._port = int(sock.getsockname()[1])
        return sock

    def _make_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self,
            lifespan="off",
            log_level="warning",
            access_log=False,
            # Longer than any pause between dispatch batches, so the client never reuses a
            # connection the server is closing at that very moment.
            timeout_keep_alive=120,
            backlog=2048,
        )
        return uvicorn.Server(config)

    def start(self) -> FakeFCMServer:
        """Serve from a daemon thread; returns once the server accepts connections."""
        sock = self._bind()
        server = self._make_server()
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-fcm", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake FCM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until SIGINT or SIGTERM."""
        sock = self._bind()
        server = self._make_server()
        self._server = server
        print(self.url, flush=True)
        server.run(sockets=[sock])

    def __enter__(self) -> FakeFCMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _target_of(message: dict[str, Any]) -> str | None:
    present = [key for key in TARGET_KEYS if message.get(key)]
    if len(present) != 1:
        return None
    return str(message[present[0]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake FCM HTTP v1 server on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--quota-per-minute", type=int, default=None)
    parser.add_argument("--flaky-failures", type=int, default=1)
    parser.add_argument("--project", default="iop-local")
    args = parser.parse_args(argv)
    FakeFCMServer(
        latency_ms=args.latency_ms,
        quota_per_minute=args.quota_per_minute,
        flaky_failures=args.flaky_failures,
        host=args.host,
        port=args.port,
        project=args.project,
    ).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
