"""The production commands, and a small supervisor that runs them as real OS processes.

`COMPOSE_COMMANDS` is the one list of what each docker-compose service runs;
tests/backend/test_compose.py checks docker-compose.yml against it, and the end-to-end test
starts exactly these commands. Only what a deployment tunes per host is overridden locally
(`local_command`): the bind address of the web server and the worker's pool size and node
name, so that two workers on one machine do not clash and a 64-core runner does not fork
64 children.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]

MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
# In a container the server listens on every interface of the container's own network.
# A bounded graceful shutdown: on Python 3.11 a cancelled channel-layer read can outlive
# its socket, and uvicorn would otherwise wait for it forever on SIGTERM.
WEB_COMMAND = [
    "uvicorn",
    "backend.asgi:application",
    "--host",
    "0.0.0.0",  # noqa: S104
    "--port",
    "8000",
    "--timeout-graceful-shutdown",
    "10",
    # The client's address is Django's to work out (TRUSTED_PROXY_COUNT); uvicorn would
    # otherwise rewrite it from X-Forwarded-For for the peers it trusts.
    "--no-proxy-headers",
]
WORKER_COMMAND = ["celery", "-A", "backend", "worker", "--loglevel", "INFO"]
SCHEDULER_COMMAND = ["python", "manage.py", "run_scheduler"]
WORKER_HEALTHCHECK = ["celery", "-A", "backend", "inspect", "ping"]

COMPOSE_COMMANDS: dict[str, list[str]] = {
    "migrate": MIGRATE_COMMAND,
    "web": WEB_COMMAND,
    "worker": WORKER_COMMAND,
    "scheduler": SCHEDULER_COMMAND,
}

TEST_SECRET_KEY = "integration-only-secret-key-not-for-any-deployment-0123456789"

# Time to wait for anything a test starts or waits for; nothing may hang a CI run.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_option(command: list[str], option: str, value: str) -> list[str]:
    """`command` with `option`'s value replaced (appended when the option is absent)."""
    result = list(command)
    if option in result:
        index = result.index(option)
        result[index + 1] = value
        return result
    return [*result, option, value]


def local_command(service: str, *, port: int | None = None, node: str | None = None) -> list[str]:
    """The compose command of `service`, with only host-specific settings overridden."""
    command = list(COMPOSE_COMMANDS[service])
    if service == "web":
        assert port is not None, "the web server needs a free port"
        command = with_option(with_option(command, "--host", "127.0.0.1"), "--port", str(port))
    if service == "worker":
        command = with_option(command, "--concurrency", "2")
        command = with_option(command, "--hostname", f"{node or 'it'}@%h")
    return command


def resolve(command: list[str]) -> list[str]:
    """Run the project's own interpreter and console scripts (the venv's), wherever
    pytest was started from."""
    head, *rest = command
    if head in ("python", "python3"):
        return [sys.executable, *rest]
    candidate = Path(sys.executable).parent / head
    if candidate.exists():
        return [str(candidate), *rest]
    found = shutil.which(head)
    return [found or head, *rest]


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: nothing from the pytest process leaks in but the basics."""
    env = {
        key: os.environ[key]
        # IOP_CI_RUN marks every process of one .ci/run, which stops any left behind.
        for key in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "IOP_CI_RUN")
        if key in os.environ
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    env.update(extra)
    return env


@dataclass(frozen=True)
class Database:
    name: str
    url: str


def app_env(database: Database, redis_url: str, **overrides: str) -> dict[str, str]:
    """The settings of every process a test starts: production-like, loopback only."""
    env = {
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DISPATCH_INTERVAL_SECONDS": "1",
        "SWEEP_INTERVAL_SECONDS": "1",
        "PUSH_BACKEND": "fcm",
        "FIREBASE_PROJECT_ID": "iop-local",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


@dataclass
class Managed:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text(errors="replace")


@dataclass
class Supervisor:
    """Starts processes in their own session (so a signal reaches their children too),
    logs each to a file, and always stops them all."""

    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Managed] = field(default_factory=dict)
    _finished: list[Managed] = field(default_factory=list)

    def start(
        self, name: str, command: list[str], *, env: Mapping[str, str] | None = None
    ) -> Managed:
        if name in self.processes and self.processes[name].alive:
            raise RuntimeError(f"{name} is already running")
        if name in self.processes:
            self._finished.append(self.processes.pop(name))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        suffix = 1
        while log_path.exists():
            suffix += 1
            log_path = self.log_dir / f"{name}.{suffix}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            resolve(command),
            cwd=REPO_ROOT,
            env=base_env({**self.env, **(env or {})}),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        managed = Managed(name, command, process, log_path, log_file)
        self.processes[name] = managed
        return managed

    def run(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 180.0,
    ) -> Managed:
        """Run a one-shot command to completion; fail with its log if it fails."""
        managed = self.start(name, command, env=env)
        try:
            code = managed.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(name, sig=signal.SIGKILL)
            raise AssertionError(f"{name} did not finish in {timeout}s:\n{tail(managed)}") from None
        assert code == 0, f"{name} exited with {code}:\n{tail(managed)}"
        return managed

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker's children die with it)."""
        managed = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(managed.process.pid, sig)

    def stop(self, name: str, *, sig: int = signal.SIGTERM) -> None:
        managed = self.processes.get(name)
        if managed is None:
            return
        if managed.alive:
            self.kill(name, sig)
            try:
                managed.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill(name, signal.SIGKILL)
                managed.process.wait(timeout=STOP_TIMEOUT)
        # Children a killed leader left behind (prefork pool processes).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(managed.process.pid, signal.SIGKILL)
        managed.log_file.close()

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            with contextlib.suppress(Exception):
                self.stop(name)

    def all_processes(self) -> list[Managed]:
        return [*self._finished, *self.processes.values()]

    def wait_for_log(self, name: str, pattern: str, *, timeout: float = START_TIMEOUT) -> None:
        managed = self.processes[name]
        regex = re.compile(pattern)
        wait_until(
            lambda: bool(regex.search(managed.log())) or not managed.alive,
            timeout=timeout,
            what=f"{name} to log {pattern!r}",
        )
        assert managed.alive, f"{name} exited with {managed.process.returncode}:\n{tail(managed)}"

    def report(self) -> str:
        return "\n".join(tail(managed) for managed in self.all_processes())


def tail(managed: Managed, lines: int = LOG_TAIL_LINES) -> str:
    text = managed.log().splitlines()[-lines:]
    header = f"----- {managed.name} ({' '.join(managed.command)}) log {managed.log_path} -----"
    return "\n".join([header, *text])


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@contextlib.contextmanager
def supervised(log_dir: Path, env: Mapping[str, str]) -> Iterator[Supervisor]:
    supervisor = Supervisor(log_dir=log_dir, env=dict(env))
    try:
        yield supervisor
    finally:
        supervisor.stop_all()


@dataclass
class RedisServer:
    """A throwaway redis-server on loopback that a test may stop and start again (the
    fault tests). No persistence: a restart loses every queue, as a crash would."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(self.ping, timeout=START_TIMEOUT, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self.process = None


# --- the stack, service by service ---------------------------------------------------------


def start_web(supervisor: Supervisor, env: Mapping[str, str] | None = None) -> str:
    """uvicorn on a free loopback port; returns its base URL once /healthz answers."""
    import httpx

    port = free_port()
    managed = supervisor.start("web", local_command("web", port=port), env=env)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert managed.alive, f"web exited:\n{tail(managed)}"
        try:
            return httpx.get(f"{base}/healthz", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=START_TIMEOUT, what="web /healthz", interval=0.2)
    return base


def start_worker(
    supervisor: Supervisor, env: Mapping[str, str] | None = None, *, name: str = "worker"
) -> Managed:
    managed = supervisor.start(name, local_command("worker", node=name), env=env)
    supervisor.wait_for_log(name, r"@\S+ ready\.")
    return managed


def start_scheduler(supervisor: Supervisor, env: Mapping[str, str] | None = None) -> Managed:
    managed = supervisor.start("scheduler", local_command("scheduler"), env=env)
    supervisor.wait_for_log("scheduler", r"scheduler started")
    return managed
