"""A view that fails while holding a patient's words (tests/backend/test_error_reporting.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def failing_view(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.body.decode()  # a local variable holding PHI when the error happens
    raise RuntimeError(f"failed after reading {len(note)} bytes")


urlpatterns = [path("api/v1/patients/<int:pk>/fail/", failing_view)]
