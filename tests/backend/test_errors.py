"""The domain's own error: services raise it, the API handler alone turns it into HTTP."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import ValidationError

from backend.api import exception_handler
from backend.errors import Conflict, NotAllowed, NotFound, ServiceError
from recovery.services.checkins import IdempotencyConflict

ROOT = Path(__file__).resolve().parents[2]
SERVICE_MODULES = sorted(
    [*(ROOT / "recovery" / "services").glob("*.py"), ROOT / "notifications" / "services.py"]
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_services_do_not_import_rest_framework(path: Path) -> None:
    web = {m for m in _imports(path) if m == "rest_framework" or m.startswith("rest_framework.")}
    assert not web, f"{path.name} imports {sorted(web)}: raise backend.errors instead"


def test_backend_api_imports_first_thing_after_setup() -> None:
    # DRF's settings import backend.api's parser and handler when DRF's views load; if
    # backend.api loads those views itself, whoever imports it first gets an ImportError.
    probe = (
        "import django; django.setup(); import backend.api; "
        "from rest_framework.views import APIView; "
        "print(APIView.parser_classes[0].__name__, APIView().get_exception_handler().__module__)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": "import-test-only-secret",
            "DJANGO_SETTINGS_MODULE": "backend.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["StrictJSONParser", "backend.api"]


def _answer(exc: Exception) -> tuple[int, dict[str, Any]]:
    response = exception_handler(exc, {"request": RequestFactory().get("/api/v1/")})
    assert response is not None
    return response.status_code, response.data["error"]


def test_a_refusal_blames_its_fields_in_the_one_error_format() -> None:
    status, error = _answer(ServiceError({"ends_at": ["A session ends after it starts."]}))
    assert status == 400
    assert error == {
        "code": "invalid",
        "message": "Invalid input.",
        "fields": {"ends_at": ["A session ends after it starts."]},
    }
    # The same body DRF's own ValidationError gets, so clients see no difference.
    assert _answer(ValidationError({"ends_at": ["A session ends after it starts."]})) == (
        status,
        error,
    )


def test_a_refusal_without_fields_is_a_non_field_error() -> None:
    status, error = _answer(ServiceError(message="Change the description."))
    assert (status, error["fields"]) == (400, {"non_field_errors": ["Change the description."]})


@pytest.mark.parametrize(
    ("exc", "status", "code", "message"),
    [
        (
            NotAllowed(message="Check-ins are closed."),
            403,
            "permission_denied",
            "Check-ins are closed.",
        ),
        (NotFound(), 404, "not_found", "Not found."),
        (Conflict(), 422, "conflict", "This conflicts with existing data."),
        (
            IdempotencyConflict(),
            422,
            "idempotency_conflict",
            "This check-in id was already used with different answers.",
        ),
    ],
)
def test_each_kind_answers_its_status(
    exc: ServiceError, status: int, code: str, message: str
) -> None:
    assert _answer(exc) == (status, {"code": code, "message": message, "fields": {}})


def test_messages_list_the_fields_first() -> None:
    assert ServiceError({"a": ["One."], "b": "Two."}).messages() == ["One.", "Two."]
    assert NotAllowed(message="No.").messages() == ["No."]
