"""End to end in headless Chromium: the real app under uvicorn (HTTP and websockets).

pytest-django's live_server speaks WSGI only, without websockets, so the app runs as a
subprocess, `uvicorn backend.asgi:application`, on a free 127.0.0.1 port against a
temporary SQLite file that `tests.e2e.setup_data` migrates and fills. The browser is
Debian's `chromium`, driven by Playwright for Python through `executable_path` (the
browser download Playwright would attempt is not available). Everything here skips
cleanly when the browser or Playwright is missing.

Run: `pytest -m e2e tests/e2e` (screenshots land in test-artifacts/).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
SERVER_START_SECONDS = 60
DEMO_COUNSELOR = "demo-counselor"
DEMO_PASSWORD = "demo-password-2026"


def pytest_configure(config: pytest.Config) -> None:
    # The marker belongs in pyproject.toml's [tool.pytest.ini_options] markers; this
    # keeps --strict-markers satisfied wherever this folder is collected until it is.
    config.addinivalue_line("markers", "e2e: end to end in headless Chromium (tests/e2e)")


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveApp:
    base_url: str
    data: dict[str, Any]
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _server_env(db: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Never the developer's or CI's servers: the embedded default, in-process.
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SCHEDULER_MODE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            # Plain http to 127.0.0.1: the session and CSRF cookies may travel without TLS.
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECRET_KEY": "e2e-only-secret-key-not-for-any-deployment-0123456789",
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{db}",
            "PUSH_BACKEND": "memory",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # Every test signs in from 127.0.0.1; the login limit is tested elsewhere.
            "THROTTLE_LOGIN": "1000/min",
            # Mail as files a test can read (the staff invitation's link).
            "EMAIL_BACKEND": "tests.e2e.mail_outbox.EmailBackend",
            "E2E_MAIL_DIR": str(db.parent / "mail"),
        }
    )
    return env


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    import httpx

    work = tmp_path_factory.mktemp("e2e")
    env = _server_env(work / "e2e.sqlite3")
    setup = subprocess.run(
        [sys.executable, "-m", "tests.e2e.setup_data"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if setup.returncode != 0:
        pytest.fail(f"data setup failed:\n{setup.stdout}\n{setup.stderr}")
    data = json.loads(setup.stdout.strip().splitlines()[-1])

    port = _free_port()
    log = work / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    app = LiveApp(base_url=f"http://127.0.0.1:{port}", data=data, log=log)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"uvicorn exited with {server.returncode}:\n{app.log_tail()}")
            try:
                if httpx.get(f"{app.base_url}/healthz", timeout=1, trust_env=False).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer in {SERVER_START_SECONDS}s:\n{app.log_tail()}")
            time.sleep(0.2)
        yield app
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, live_app: LiveApp) -> Iterator[Any]:
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_app.base_url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
