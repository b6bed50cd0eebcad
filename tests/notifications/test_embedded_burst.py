"""The embedded default (`make run`: `manage.py serve`, SQLite, the in-memory channel layer,
the scheduler in the same process) delivers a burst live, as production does.

A real `manage.py serve` on a free loopback port, a SQLite file in a temp dir, and two real
websocket clients (a counselor and a supervisor). One in-process sweep raises a flag for
each of 200 patients; each socket must receive all 200 while connected, without a
reconnect (a replay would hide a lost live event). The environment is built from scratch,
so the integration stage's DATABASE_URL and REDIS_URL cannot turn this into the production
topology.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.processes import (
    REPO_ROOT,
    START_TIMEOUT,
    Supervisor,
    base_env,
    free_port,
    tail,
    wait_until,
)
from tests.integration.sockets import EventSocket

FLAGS = 200
LIVE_WITHIN_SECONDS = 30.0


def _embedded_env(database: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{database}",
        "SCHEDULER_MODE": "inprocess",
        "SECRET_KEY": "embedded-burst-only-secret-key-not-for-any-deployment-0123",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUSH_BACKEND": "memory",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "SWEEP_INTERVAL_SECONDS": "1",
        "DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }


def _data(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.notifications.embedded_burst_data", *args],
        cwd=REPO_ROOT,
        env=base_env(env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _flags_live(socket: EventSocket, found: dict[str, set[int]], role: str) -> None:
    """Collect flag events until all arrived or the time is up (recorded in `found`)."""
    ids = found[role]

    def all_arrived(event: dict[str, Any]) -> bool:
        if event.get("type") == "notification" and event.get("kind") == "flag_raised":
            ids.add(event["payload"]["flag_id"])
        return len(ids) >= FLAGS

    with contextlib.suppress(AssertionError):  # the test reports what arrived
        socket.wait_for(all_arrived, timeout=LIVE_WITHIN_SECONDS, what=f"{FLAGS} flags")


@pytest.fixture
def database_file(tmp_path: Path, django_db_setup: Any, django_db_blocker: Any) -> Path:
    """A SQLite file for the server: a copy of the suite's migrated test database when that
    is SQLite (migrating from scratch takes most of this test's time), else empty (the data
    step migrates it)."""
    from django.db import connection

    target = tmp_path / "embedded.sqlite3"
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            connection.close()
            source = sqlite3.connect(connection.settings_dict["NAME"])
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                source.close()
                copy.close()
    return target


def test_a_burst_of_flags_reaches_every_staff_socket_live(database_file: Path) -> None:
    tmp_path = database_file.parent
    t0 = time.monotonic()
    env = _embedded_env(database_file)
    tokens = json.loads(_data(env, "setup", str(FLAGS)).strip().splitlines()[-1])

    setup_took = time.monotonic() - t0
    supervisor = Supervisor(log_dir=tmp_path / "logs", env=env)
    port = free_port()
    web = supervisor.start(
        "serve", ["python", "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    sockets: list[EventSocket] = []
    try:
        import httpx

        def healthy() -> bool:
            assert web.alive, f"serve exited:\n{tail(web)}"
            try:
                return httpx.get(f"{base}/healthz", timeout=2, trust_env=False).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=START_TIMEOUT, what="serve /healthz", interval=0.2)
        ws_base = base.replace("http://", "ws://")
        counselor = EventSocket(ws_base, tokens["counselor_token"])
        sockets.append(counselor)
        staff_supervisor = EventSocket(ws_base, tokens["supervisor_token"])
        sockets.append(staff_supervisor)
        for socket in sockets:
            socket.wait_for(lambda e: e.get("type") == "ready", timeout=10, what="ready")

        ready_took = time.monotonic() - t0 - setup_took
        started = time.monotonic()
        _data(env, "due")
        found: dict[str, set[int]] = {"counselor": set(), "supervisor": set()}
        readers = [
            threading.Thread(target=_flags_live, args=(counselor, found, "counselor")),
            threading.Thread(target=_flags_live, args=(staff_supervisor, found, "supervisor")),
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        took = time.monotonic() - started

        assert web.alive, f"serve exited:\n{tail(web)}"
        got = {role: len(ids) for role, ids in found.items()}
        assert got == {"counselor": FLAGS, "supervisor": FLAGS}, (
            f"live flags {took:.1f}s after the deadlines passed: {got} "
            f"(setup {setup_took:.1f}s, serve ready {ready_took:.1f}s)\n{tail(web)}"
        )
    finally:
        for socket in sockets:
            socket.close()
        supervisor.stop_all()
