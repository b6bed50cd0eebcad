"""Dismissing a stage or level-of-care suggestion, through the API and from the patient
page: the same suggestion is not offered again for one suggestion window, a different
one is, and only a suggestion that is still the one named can be dismissed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from recovery.dates import enrollment_today
from recovery.models import Enrollment, SuggestionDismissal
from recovery.services.screens import screen_record
from tests.conftest import client_for
from tests.factories import CounselorFactory

pytestmark = pytest.mark.django_db


def _step_up_suggested(enrollment: Enrollment, counselor: Any) -> None:
    """Three missed screens on three days: the program's default count for more support."""
    today = enrollment_today(enrollment)
    for days_ago in range(3):
        screen_record(
            enrollment=enrollment,
            actor=counselor,
            collected_on=today - timedelta(days=days_ago),
            method="urine",
            status="missed",
            results=[],
        )


def _suggestion(counselor: Any, enrollment: Enrollment) -> dict[str, Any]:
    response = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/suggestion/")
    assert response.status_code == 200
    return dict(response.json())


def test_a_dismissed_suggestion_is_held_back_for_one_window(
    counselor: Any, enrollment: Enrollment
) -> None:
    _step_up_suggested(enrollment, counselor)
    offered = _suggestion(counselor, enrollment)
    assert offered["suggested_level_of_care"] is not None
    assert offered["dismissed"] is None

    dismissed = client_for(counselor).post(
        f"/api/v1/patients/{enrollment.id}/suggestion/dismiss/",
        {
            "suggested_stage": offered["suggested_stage"],
            "suggested_level_of_care": offered["suggested_level_of_care"],
            "reason": "Screens missed while travelling",
        },
        format="json",
    )
    assert dismissed.status_code == 201, dismissed.content
    held = _suggestion(counselor, enrollment)["dismissed"]
    assert held["reason"] == "Screens missed while travelling"
    assert held["dismissed_by"] == counselor.id

    # After a full window (28 days by default) the record has had time to say more.
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert _suggestion(counselor, enrollment)["dismissed"] is None


def test_only_the_suggestion_on_offer_can_be_dismissed(
    counselor: Any, enrollment: Enrollment
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/suggestion/dismiss/"
    staff = client_for(counselor)
    nothing = staff.post(url, {"suggested_stage": "maintenance"}, format="json")
    assert nothing.status_code == 422
    assert nothing.json()["error"]["message"] == "Nothing is suggested now."
    _step_up_suggested(enrollment, counselor)
    other = staff.post(url, {"suggested_level_of_care": "0.5"}, format="json")
    assert other.status_code == 422
    assert staff.post(url, {}, format="json").status_code == 400
    assert not SuggestionDismissal.objects.exists()


def test_out_of_reach_is_404_and_patients_are_refused(enrollment: Enrollment) -> None:
    url = f"/api/v1/patients/{enrollment.id}/suggestion/dismiss/"
    outsider = CounselorFactory(program=enrollment.program)
    assert client_for(outsider).post(url, {"suggested_stage": "maintenance"}).status_code == 404
    assert client_for(enrollment.patient).post(url, {}).status_code == 403


def test_the_patient_page_confirms_or_dismisses_the_suggestion(
    counselor: Any, enrollment: Enrollment
) -> None:
    _step_up_suggested(enrollment, counselor)
    offered = _suggestion(counselor, enrollment)
    page = Client()
    page.force_login(counselor)
    url = f"/dashboard/patients/{enrollment.id}/"
    html = page.get(url).content.decode()
    assert "Confirm the suggestion" in html
    assert "Dismiss" in html

    done = page.post(
        f"{url}suggestion/dismiss/",
        {
            "suggested_stage": "",
            "suggested_level_of_care": offered["suggested_level_of_care"],
            "reason": "Travelling",
        },
    )
    assert done.status_code == 302
    assert _suggestion(counselor, enrollment)["dismissed"]["reason"] == "Travelling"
    html = page.get(url).content.decode()
    assert "Confirm the suggestion" not in html
    assert "Suggestion dismissed." in html
    assert "Travelling" in html

    # A second dismissal of what is no longer on offer is refused on the page.
    again = page.post(
        f"{url}suggestion/dismiss/", {"suggested_level_of_care": "0.5", "reason": "x"}
    )
    assert again.status_code == 400
    assert "The suggestion has changed; look at it again." in again.content.decode()
    assert SuggestionDismissal.objects.count() == 1


def test_confirming_from_the_page_applies_the_suggested_level(
    counselor: Any, enrollment: Enrollment
) -> None:
    _step_up_suggested(enrollment, counselor)
    offered = _suggestion(counselor, enrollment)
    page = Client()
    page.force_login(counselor)
    done = page.post(
        f"/dashboard/patients/{enrollment.id}/care/",
        {"level_of_care": offered["suggested_level_of_care"], "reason": "Confirmed"},
    )
    assert done.status_code == 302
    body = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/").json()
    assert body["level_of_care"] == offered["suggested_level_of_care"]
