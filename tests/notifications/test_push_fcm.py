"""The FCM backend with the real firebase-admin SDK, over real HTTP to a fake FCM server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import google.auth.credentials
import httpx
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import credentials, exceptions, messaging

from notifications.push import Outcome, PushMessage, get_push_backend, reset_push_backends
from notifications.push.fcm import (
    FCMConfig,
    FCMPushBackend,
    _runtime_for,
    close_fcm,
)
from notifications.push.fcm_client import CredentialAuth, PlainCopyRetry
from notifications.push.fcm_errors import retry_after_of
from tests.fakes.fcm_server import FakeFCMServer


@pytest.fixture
def fcm() -> Iterator[FakeFCMServer]:
    with FakeFCMServer() as server:
        yield server


def use_fcm(settings: Any, url: str, *, concurrency: int = 20) -> None:
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_ENDPOINT = url
    settings.FIREBASE_PROJECT_ID = ""
    settings.FIREBASE_CREDENTIALS = ""
    settings.FCM_MAX_CONCURRENCY = concurrency
    reset_push_backends()


@pytest.fixture(autouse=True)
def _close_fcm() -> Iterator[None]:
    yield
    reset_push_backends()
    close_fcm()


def push(
    address: str,
    *,
    kind: str = "token",
    device_id: int = 1,
    notification_id: int = 10,
    ttl: int | None = None,
    urgent: bool = False,
) -> PushMessage:
    return PushMessage(
        notification_id=notification_id,
        device_id=device_id,
        address=address,
        address_kind=kind,
        title="Reminder",
        body="You have something coming up. Open the app.",
        ttl_seconds=ttl,
        urgent=urgent,
    )


def test_token_and_fid_targets_go_out_as_the_sdk_encodes_them(
    settings: Any, fcm: FakeFCMServer
) -> None:
    use_fcm(settings, fcm.url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = get_push_backend().send_many(
            [push("tok-1", device_id=1), push("fid-1", kind="fid", device_id=2)]
        )

    assert [(r.device_id, r.outcome) for r in results] == [(1, Outcome.SENT), (2, Outcome.SENT)]
    by_target = {m.get("token") or m.get("fid"): m for m in fcm.received}
    assert "token" in by_target["tok-1"]
    assert "fid" in by_target["fid-1"]
    assert "token" not in by_target["fid-1"]
    # send_each_async defaults to dry_run=True: nothing may go out as a mere validation.
    assert fcm.dry_runs == 0
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_results_keep_the_order_of_messages_and_concurrency_stays_bounded(
    settings: Any,
) -> None:
    with FakeFCMServer(latency_ms=20) as fcm:
        use_fcm(settings, fcm.url, concurrency=3)
        addresses = [
            "dead-a" if i % 5 == 0 else "badarg-b" if i == 7 else f"ok-{i}" for i in range(1, 21)
        ]
        messages = [push(a, device_id=i) for i, a in enumerate(addresses, start=1)]

        results = get_push_backend().send_many(messages)

        assert fcm.max_in_flight <= 3
    assert [r.device_id for r in results] == list(range(1, 21))
    expected = [
        Outcome.DEAD
        if a.startswith("dead-")
        else Outcome.FAILED
        if a == "badarg-b"
        else Outcome.SENT
        for a in addresses
    ]
    assert [r.outcome for r in results] == expected


@pytest.mark.parametrize(
    ("address", "outcome", "error"),
    [
        ("dead-1", Outcome.DEAD, "UNREGISTERED"),
        ("invalid-1", Outcome.DEAD, "INVALID_ADDRESS"),
        ("mismatch-1", Outcome.DEAD, "SENDER_ID_MISMATCH"),
        ("badarg-1", Outcome.FAILED, "INVALID_ARGUMENT"),
        ("throttle-1", Outcome.THROTTLED, "QUOTA_EXCEEDED"),
        ("ok-1", Outcome.SENT, ""),
    ],
)
def test_fcm_errors_map_to_outcomes(
    settings: Any, fcm: FakeFCMServer, address: str, outcome: Outcome, error: str
) -> None:
    use_fcm(settings, fcm.url)

    [result] = get_push_backend().send_many([push(address)])

    assert (result.outcome, result.error) == (outcome, error)
    # Error codes only: never the token, never FCM's message text.
    assert address not in result.error


def test_429_reports_retry_after_and_the_sdk_does_not_retry_it(
    settings: Any, fcm: FakeFCMServer
) -> None:
    use_fcm(settings, fcm.url)

    [result] = get_push_backend().send_many([push("throttle-1")])

    assert result.outcome == Outcome.THROTTLED
    assert result.retry_after == 1.0
    assert fcm.attempts("throttle-1") == 1
    assert fcm.targets() == []


def test_after_a_429_nothing_is_sent_until_its_retry_after_has_passed(
    settings: Any, fcm: FakeFCMServer
) -> None:
    use_fcm(settings, fcm.url)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as clock:
        get_push_backend().send_many([push("throttle-1")])

        # A later batch (the pause lives in the cache every worker reads) sends nothing.
        [result] = get_push_backend().send_many([push("ok-1")])
        assert (result.outcome, result.retry_after) == (Outcome.THROTTLED, 1.0)
        assert fcm.requests == 1

        clock.shift(1.5)
        [result] = get_push_backend().send_many([push("ok-1")])

    assert result.outcome == Outcome.SENT
    assert fcm.targets() == ["ok-1"]


def test_a_single_503_is_absorbed_by_the_sdk_retry(settings: Any, fcm: FakeFCMServer) -> None:
    use_fcm(settings, fcm.url)

    [result] = get_push_backend().send_many([push("flaky-1")])

    assert result.outcome == Outcome.SENT
    assert fcm.attempts("flaky-1") == 2
    assert fcm.targets() == ["flaky-1"]


def test_ttl_priority_and_generic_content(settings: Any, fcm: FakeFCMServer) -> None:
    use_fcm(settings, fcm.url)
    before = int(time.time())

    get_push_backend().send_many(
        [
            push("urgent-1", device_id=1, notification_id=41, ttl=3600, urgent=True),
            push("plain-1", device_id=2, notification_id=42),
        ]
    )

    by_target = {m["token"]: m for m in fcm.received}
    urgent, plain = by_target["urgent-1"], by_target["plain-1"]
    assert urgent["data"] == {"notification_id": "41"}
    assert urgent["notification"] == {
        "title": "Reminder",
        "body": "You have something coming up. Open the app.",
    }
    assert urgent["android"] == {
        "ttl": "3600s",
        "priority": "high",
        "collapse_key": "41",
        "notification": {"tag": "41"},
    }
    expiration = int(urgent["apns"]["headers"]["apns-expiration"])
    assert before + 3600 <= expiration <= int(time.time()) + 3600
    assert urgent["apns"]["headers"]["apns-priority"] == "10"
    assert urgent["webpush"]["headers"] == {"TTL": "3600", "Urgency": "high"}
    assert plain["data"] == {"notification_id": "42"}
    assert "ttl" not in plain.get("android", {})
    assert "apns-expiration" not in plain.get("apns", {}).get("headers", {})


def test_a_repeated_push_carries_the_notification_id_as_its_collapse_key(
    settings: Any, fcm: FakeFCMServer
) -> None:
    # Push is at least once: a worker killed after FCM accepted the message sends it again.
    # With the same collapse key and tag on Android and apns-collapse-id on iOS, the
    # repeat replaces the first on the phone instead of showing twice.
    use_fcm(settings, fcm.url)
    backend = get_push_backend()

    backend.send_many([push("phone-1", device_id=1, notification_id=77)])
    backend.send_many([push("phone-1", device_id=1, notification_id=77)])
    backend.send_many([push("phone-1", device_id=1, notification_id=78)])

    first, repeat, other = fcm.received
    for message, expected in ((first, "77"), (repeat, "77"), (other, "78")):
        assert message["android"]["collapse_key"] == expected
        assert message["android"]["notification"]["tag"] == expected
        assert message["apns"]["headers"]["apns-collapse-id"] == expected


def test_an_unreachable_service_means_retry(settings: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    use_fcm(settings, f"http://127.0.0.1:{port}/v1/projects/p/messages:send")

    results = get_push_backend().send_many([push("ok-1", device_id=1), push("ok-2", device_id=2)])

    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY]
    assert all(r.error == "UNAVAILABLE" for r in results)


def test_the_pool_survives_between_calls(settings: Any, fcm: FakeFCMServer) -> None:
    use_fcm(settings, fcm.url)
    backend = get_push_backend()

    for round_ in range(3):
        results = backend.send_many([push(f"ok-{round_}-{i}", device_id=i) for i in range(20)])
        assert {r.outcome for r in results} == {Outcome.SENT}
    assert len(fcm.received) == 60


def test_retry_after_as_an_http_date() -> None:
    when = time.time() + 120
    header = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))
    response = httpx.Response(429, headers={"Retry-After": header})
    error = exceptions.ResourceExhaustedError("quota", http_response=response)

    delay = retry_after_of(error)

    assert delay is not None
    assert 100 <= delay <= 121


def test_without_an_endpoint_the_service_account_is_used(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "iop-prod",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "push@iop-prod.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    config = FCMConfig(endpoint="", project_id="", credentials_path=str(path), max_concurrency=10)

    FCMPushBackend(config)
    runtime = _runtime_for(config)

    assert isinstance(runtime.app.credential, credentials.Certificate)
    assert runtime.app.project_id == "iop-prod"
    assert runtime.service._fcm_url == messaging._MessagingService.FCM_URL.format("iop-prod")


def test_a_bare_endpoint_gets_the_v1_path(fcm: FakeFCMServer) -> None:
    config = FCMConfig(
        endpoint=fcm.base_url, project_id="demo", credentials_path="", max_concurrency=5
    )

    results = FCMPushBackend(config).send_many([push("ok-1")])

    assert results[0].outcome == Outcome.SENT
    assert _runtime_for(config).service._fcm_url == (
        f"{fcm.base_url}/v1/projects/demo/messages:send"
    )


def test_concurrency_is_spread_over_several_pools() -> None:
    # Each push is held long enough that a busy machine still starts more than one pool's
    # worth before the first returns.
    with FakeFCMServer(latency_ms=150) as slow:
        config = FCMConfig(
            endpoint=slow.url,
            project_id="",
            credentials_path="",
            max_concurrency=25,
            connections_per_shard=10,
        )
        backend = FCMPushBackend(config)
        runtime = _runtime_for(config)

        backend.send_many([push(f"light-{i}", device_id=i) for i in range(5)])
        built_by_light_traffic = sum(app is not None for app in runtime.apps)
        results = backend.send_many([push(f"ok-{i}", device_id=i) for i in range(100)])

        assert built_by_light_traffic == 1
        assert sum(app is not None for app in runtime.apps) == 3
        assert {r.outcome for r in results} == {Outcome.SENT}
        assert 10 < slow.max_in_flight <= 25


def test_a_spent_per_minute_quota_answers_429_until_the_next_minute(settings: Any) -> None:
    half_past = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
    with FakeFCMServer(quota_per_minute=2) as fcm, time_machine.travel(half_past, tick=False):
        use_fcm(settings, fcm.url, concurrency=1)

        results = get_push_backend().send_many([push(f"ok-{i}", device_id=i) for i in range(6)])

        # The first 429 ends the batch: the rest is not spent on more 429s.
        assert fcm.requests == 3
    assert [r.outcome for r in results] == [Outcome.SENT] * 2 + [Outcome.THROTTLED] * 4
    assert {r.retry_after for r in results[2:]} == {30.0}


def test_the_fake_runs_as_a_process_and_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fcm_server", "--port", "0", "--latency-ms", "1"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        answer = httpx.post(url, json={"message": {"token": "dead-1"}}, timeout=10)
        stats = httpx.get(url.split("/v1/")[0] + "/_stats", timeout=10).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    assert url.endswith("/v1/projects/iop-local/messages:send")
    assert answer.status_code == 404
    assert answer.json()["error"]["details"][0]["errorCode"] == "UNREGISTERED"
    assert stats["requests"] == 1


class _CountingCredentials(google.auth.credentials.Credentials):
    """A credential whose token is its refresh count, as a service account's would change."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshes = 0
        self.token = "token-0"

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"


def test_the_async_client_authenticates_without_a_session_per_push(
    settings: Any, fcm: FakeFCMServer
) -> None:
    use_fcm(settings, fcm.url)
    backend = get_push_backend()
    runtime = _runtime_for(FCMConfig.from_settings())
    auth = runtime.service._async_client.async_client.auth
    assert isinstance(auth, CredentialAuth)
    shared = auth._auth_request

    results = backend.send_many([push(f"ok-{i}", device_id=i) for i in range(5)])

    assert {r.outcome for r in results} == {Outcome.SENT}
    assert auth._auth_request is shared


def test_a_401_refreshes_the_token_and_sends_again() -> None:
    credential = _CountingCredentials()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    with httpx.Client(
        transport=httpx.MockTransport(answer), auth=CredentialAuth(credential)
    ) as client:
        response = client.post("http://fcm.test/v1/projects/p/messages:send", json={})

    assert response.status_code == 200
    assert seen == ["Bearer token-0", "Bearer token-1"]


def test_a_token_that_stays_refused_gives_up_after_two_refreshes() -> None:
    credential = _CountingCredentials()
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={}))

    with httpx.Client(transport=transport, auth=CredentialAuth(credential)) as client:
        response = client.post("http://fcm.test/v1/projects/p/messages:send", json={})

    assert response.status_code == 401
    assert credential.refreshes == 2


def test_the_sdk_retry_policy_is_kept_and_copied_apart_for_each_request(
    settings: Any, fcm: FakeFCMServer
) -> None:
    use_fcm(settings, fcm.url)
    get_push_backend()
    client = _runtime_for(FCMConfig.from_settings()).service._async_client.async_client
    policies = [t._retry for t in client._mounts.values() if t is not None]
    assert len(policies) == 2  # http:// and https://
    assert all(isinstance(p, PlainCopyRetry) for p in policies)
    policy = policies[0]
    assert (policy.retries_left, policy.status_forcelist) == (4, [500, 503])

    attempt = policy.copy()
    attempt.increment(httpx.Request("POST", fcm.url), httpx.Response(503), None)

    assert attempt.retries_left == 3
    assert len(attempt.history) == 1
    assert (policy.retries_left, policy.history) == (4, [])
