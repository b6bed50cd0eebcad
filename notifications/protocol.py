"""The websocket protocol's own document (AsyncAPI 3), served beside the OpenAPI schema.

The document is written by hand in `asyncapi.yaml` next to the consumer it describes;
tests/notifications/test_protocol.py checks every message the server sends against it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

DOCUMENT = Path(__file__).with_name("asyncapi.yaml")


@cache
def asyncapi_text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@require_GET
def asyncapi_document(request: HttpRequest) -> HttpResponse:
    return HttpResponse(asyncapi_text(), content_type="application/yaml; charset=utf-8")
