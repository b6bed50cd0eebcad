"""The deployment files agree with each other, with the settings, and with what the
integration tests run: docker-compose.yml starts exactly the commands the end-to-end test
starts as processes (tests/integration/processes.py), .env.example documents every setting
backend/settings.py reads, and the image runs as a non-root user."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.processes import (
    COMPOSE_COMMANDS,
    WEB_COMMAND,
    WORKER_COMMAND,
    WORKER_HEALTHCHECK,
    local_command,
)

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "scheduler")
SERVICES = ("postgres", "redis", *APP_SERVICES)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate((ROOT / ".env.example").read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example:{number}: {line}"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f".env.example:{number}: {line}"
        assert key not in values, f".env.example sets {key} twice"
        values[key] = value
    return values


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_compose_has_every_service(services: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(services)


def test_application_commands_are_the_ones_the_integration_tests_run(
    services: dict[str, Any],
) -> None:
    for name in APP_SERVICES:
        assert services[name]["command"] == COMPOSE_COMMANDS[name], name


def test_local_commands_only_override_host_specific_options() -> None:
    """The e2e test runs the compose command; only where it listens and how many pool
    processes it forks differ on a test machine."""
    web = local_command("web", port=8123)
    assert web[:2] == WEB_COMMAND[:2]
    assert web[-1] == "--no-proxy-headers"
    web = web[:-1]
    assert dict(zip(web[2::2], web[3::2], strict=True)) == {
        "--host": "127.0.0.1",
        "--port": "8123",
        "--timeout-graceful-shutdown": "10",
    }
    worker = local_command("worker", node="it")
    assert worker[: len(WORKER_COMMAND)] == WORKER_COMMAND
    assert set(worker[len(WORKER_COMMAND) :: 2]) == {"--concurrency", "--hostname"}
    assert local_command("migrate") == COMPOSE_COMMANDS["migrate"]
    assert local_command("scheduler") == COMPOSE_COMMANDS["scheduler"]


def test_databases_have_healthchecks_and_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"].split(":")[1].split(".")[0] == "16"
    assert "pg_isready" in healthcheck_text(postgres)
    assert redis["image"].split(":")[1].split(".")[0] == "7"
    assert redis["command"][0] == "redis-server"
    redis_args = " ".join(redis["command"])
    assert "--maxmemory-policy noeviction" in redis_args
    assert "--appendonly yes" in redis_args
    assert "redis-cli" in healthcheck_text(redis)
    for service in (postgres, redis):
        volume = service["volumes"][0].split(":")[0]
        assert volume in compose["volumes"]


def test_application_services_read_env_file_and_wait_for_their_dependencies(
    services: dict[str, Any],
) -> None:
    for name in APP_SERVICES:
        assert services[name]["env_file"] in (".env", [".env"]), name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name


def test_web_and_worker_have_healthchecks(services: dict[str, Any]) -> None:
    assert "/healthz" in healthcheck_text(services["web"])
    assert " ".join(WORKER_HEALTHCHECK) in healthcheck_text(services["worker"])


def test_exactly_one_scheduler(services: dict[str, Any]) -> None:
    scheduler = services["scheduler"]
    assert scheduler["deploy"]["replicas"] == 1
    assert "scale" not in scheduler
    assert "ports" not in scheduler


def test_env_example_documents_every_setting_read() -> None:
    settings_source = (ROOT / "backend" / "settings.py").read_text()
    read = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", settings_source))
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= read  # the pattern still matches
    missing = read - set(env_example())
    assert not missing, f"document these in .env.example: {sorted(missing)}"


def test_env_example_points_at_the_compose_services(services: dict[str, Any]) -> None:
    values = env_example()
    assert values["SECRET_KEY"] == "", "never ship a usable secret"
    assert values["DEBUG"] in ("0", "false", "False")
    assert "@postgres:5432/" in values["DATABASE_URL"]
    assert values["REDIS_URL"].startswith("redis://redis:6379")
    for name in re.findall(r"\$\{(\w+)", json.dumps(services["postgres"]["environment"])):
        assert name in values, name


def test_image_is_python_slim_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split(maxsplit=1)
        for line in dockerfile.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    keyword = {}
    for word, rest in instructions:
        keyword.setdefault(word.upper(), []).append(rest.strip())
    assert keyword["FROM"] == ["python:3.11-slim"]
    assert any(re.search(r"\bpip install \.", run) for run in keyword["RUN"])
    user = keyword["USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(keyword["CMD"][-1]) == WEB_COMMAND


def test_web_worker_and_scheduler_share_one_writable_metrics_directory(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    """Without the shared directory, web's /metrics would show only web's own counters:
    the scheduler's job runs and the worker's sends would never be seen."""
    mounts = set()
    for name in ("web", "worker", "scheduler"):
        directory = services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        volumes = dict(v.split(":")[::-1][:2] for v in services[name]["volumes"])
        mounts.add((volumes[directory], directory))
    assert len(mounts) == 1
    [(volume, _)] = mounts
    assert "PROMETHEUS_MULTIPROC_DIR" not in json.dumps(services["migrate"])
    # Empty at start (tmpfs), and writable by the image's user, not only by root.
    options = compose["volumes"][volume]["driver_opts"]
    assert options["type"] == "tmpfs"
    image_uid = re.search(r"useradd [^\n]*--uid (\d+)", (ROOT / "Dockerfile").read_text())
    assert image_uid
    assert f"uid={image_uid.group(1)}" in options["o"].split(",")


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv/", "secrets/"} <= ignored


def test_web_is_reachable_only_through_the_proxy_the_example_trusts(
    services: dict[str, Any],
) -> None:
    """With TRUSTED_PROXY_COUNT above 0 a client that reaches web directly writes the
    X-Forwarded-For entry that is trusted, and picks its own address: web may then be
    published on loopback only, where the proxy on the host is the only way in."""
    if int(env_example()["TRUSTED_PROXY_COUNT"]) == 0:
        return
    for published in services["web"].get("ports", []):
        if isinstance(published, dict):  # the long syntax
            assert published.get("host_ip") == "127.0.0.1", published
        else:
            assert str(published).startswith("127.0.0.1:"), published
