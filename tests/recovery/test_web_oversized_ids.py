"""Ids past 64 bits typed into the dashboard's id inputs are refused (400, a field error),
not a 500: on SQLite `id IN (<that number>)` raises OverflowError at binding."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999"  # > 2**64


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_unread_counts_ignore_ids_past_the_id_range(counselor: Any, enrollment: Any) -> None:
    response = browser(counselor).get(
        f"/dashboard/unread/?patient={HUGE}&patient=%D9%A3&patient={enrollment.id}"
    )
    assert response.status_code == 200
    assert list(response.json()["unread"]) == [str(enrollment.id)]


def test_care_team_members_past_the_id_range_are_a_field_error(
    supervisor: Any, enrollment: Any
) -> None:
    response = browser(supervisor).post(
        f"/dashboard/patients/{enrollment.id}/care-team/",
        {"primary_counselor": enrollment.primary_counselor_id, "members": [HUGE]},
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_enroll_care_team_past_the_id_range_is_a_field_error(
    supervisor: Any, counselor: Any
) -> None:
    response = browser(supervisor).post(
        "/dashboard/patients/new/", {"first_name": "Sam", "care_team": [HUGE, "9" * 5000]}
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_calendar_patients_past_the_id_range_are_a_field_error(supervisor: Any) -> None:
    response = browser(supervisor).post(
        "/dashboard/calendar/new/", {"title": "Group", "patients": [HUGE]}
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
