"""API-Version on every answer, the minimum app version per platform, JSON 404s."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from backend.versioning import parse_version


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("1.4.2", (1, 4, 2)),
        ("2", (2,)),
        ("2.0.0", (2,)),
        ("1.10", (1, 10)),
        ("v1", None),
        ("", None),
    ],
)
def test_versions_compare_as_numbers(raw: str, parsed: tuple[int, ...] | None) -> None:
    assert parse_version(raw) == parsed


@pytest.mark.django_db
def test_every_answer_carries_the_api_version(settings) -> None:
    client = Client()
    for path in ("/api/v1/me/", "/api/schema/", "/healthz", "/api/v1/nowhere/"):
        assert client.get(path)["API-Version"] == settings.API_VERSION


@pytest.mark.django_db
@override_settings(MIN_APP_VERSIONS={"ios": "2.1.0"})
def test_an_app_older_than_its_platform_minimum_is_asked_to_upgrade() -> None:
    client = Client()

    def me(platform: str, version: str) -> object:
        return client.get("/api/v1/me/", HTTP_X_APP_PLATFORM=platform, HTTP_X_APP_VERSION=version)

    old = me("ios", "2.0.9")
    assert old.status_code == 426
    assert old.json()["error"]["code"] == "upgrade_required"
    assert old["X-Min-App-Version"] == "2.1.0"
    assert old["API-Version"]
    # New enough, another platform with no minimum, or no headers at all: served (401 here,
    # since no token was sent).
    assert me("ios", "2.1").status_code == 401
    assert me("ios", "10.0.0").status_code == 401
    assert me("android", "0.1").status_code == 401
    assert client.get("/api/v1/me/").status_code == 401
    assert me("ios", "nonsense").status_code == 426


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_answers_the_json_error_format(settings, debug: bool) -> None:
    settings.DEBUG = debug
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }
