"""Integration tests: real PostgreSQL, real Redis, the production commands as processes.

They run only when DATABASE_URL names a PostgreSQL server and REDIS_URL a Redis server
(`.ci/run` starts both on loopback); otherwise every test here is skipped. The role in
DATABASE_URL must be allowed to create databases: each test gets its own database, cloned
from a template migrated once per session by the real `migrate` command, so the processes
a test starts and the test's own ORM queries see the same rows and nothing else.

Every process a test starts is stopped in a finalizer; their logs go to files in the
test's tmp dir and are printed when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.integration.processes import (
    MIGRATE_COMMAND,
    TEST_SECRET_KEY,
    Database,
    RedisServer,
    Supervisor,
    free_port,
)

HERE = Path(__file__).resolve().parent
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "psql")


def _services_missing() -> str | None:
    database = urlsplit(os.environ.get("DATABASE_URL", ""))
    redis_url = urlsplit(os.environ.get("REDIS_URL", ""))
    if database.scheme not in POSTGRES_SCHEMES:
        return "DATABASE_URL does not name a PostgreSQL server"
    if redis_url.scheme not in ("redis", "rediss"):
        return "REDIS_URL does not name a Redis server"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI timeout) stops the run like Ctrl-C, so finalizers still stop every
    process the tests started."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _services_missing()
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.integration)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"integration: {missing}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Overrides the suite's MD5 hasher: the processes here verify passwords with the
    production hashers, so the passwords this test stores must use them too."""


# --- PostgreSQL -------------------------------------------------------------------------


def url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _base_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "iop"


@dataclass
class PostgresServer:
    url: str

    def admin(self) -> Any:
        """An autocommit connection to the maintenance database."""
        import psycopg

        try:
            return psycopg.connect(url_with_database(self.url, "postgres"), autocommit=True)
        except psycopg.OperationalError:
            return psycopg.connect(self.url, autocommit=True)

    def create(self, name: str, *, template: str | None = None) -> str:
        from psycopg import sql

        with self.admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            connection.execute(statement)
        return url_with_database(self.url, name)

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self.admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    return PostgresServer(os.environ["DATABASE_URL"])


@pytest.fixture(scope="session")
def template_database(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated once by the production `migrate` command, cloned per test."""
    name = f"{_base_name(postgres.url)}_it_template_{uuid.uuid4().hex[:8]}"
    url = postgres.create(name)
    supervisor = Supervisor(log_dir=tmp_path_factory.mktemp("template"))
    try:
        supervisor.run(
            "migrate-template",
            MIGRATE_COMMAND,
            env={"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "REDIS_URL": ""},
        )
    finally:
        supervisor.stop_all()
    yield name
    postgres.drop(name)


@contextlib.contextmanager
def orm_pointed_at(name: str, django_db_blocker: Any) -> Iterator[None]:
    """Let this test's ORM use database `name` (outside pytest-django's test database:
    the rows must be committed for the other processes to see them)."""
    from django.db import connections

    connection = connections["default"]
    previous = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict["NAME"] = name
        try:
            yield
        finally:
            connections.close_all()
            connection.settings_dict["NAME"] = previous


def _new_database(postgres: PostgresServer, template: str | None) -> Database:
    name = f"{_base_name(postgres.url)}_it_{uuid.uuid4().hex[:12]}"
    return Database(name=name, url=postgres.create(name, template=template))


@pytest.fixture
def database(
    postgres: PostgresServer, template_database: str, django_db_blocker: Any
) -> Iterator[Database]:
    """A migrated database of this test's own, used by the test's ORM and its processes."""
    database = _new_database(postgres, template_database)
    try:
        with orm_pointed_at(database.name, django_db_blocker):
            yield database
    finally:
        postgres.drop(database.name)


@pytest.fixture
def empty_database(postgres: PostgresServer, django_db_blocker: Any) -> Iterator[Database]:
    """An empty database; the test migrates it with the production command, then uses it."""
    database = _new_database(postgres, None)
    try:
        with orm_pointed_at(database.name, django_db_blocker):
            yield database
    finally:
        postgres.drop(database.name)


# --- Redis --------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The shared Redis, emptied before and after the test (queues, channel layer)."""
    import redis

    url = os.environ["REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    with contextlib.suppress(redis.RedisError):
        client.flushdb()
    client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which the test may stop and start again."""
    server = RedisServer(directory=tmp_path / "redis", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- processes ----------------------------------------------------------------------------


@pytest.fixture
def supervisor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Supervisor]:
    """Starts the processes of one test; stops them all at the end, and prints their logs
    if the test failed."""
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
        if _failed(request):
            print(f"\n===== process logs (kept in {supervisor.log_dir}) =====")
            print(supervisor.report())
