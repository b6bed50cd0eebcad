"""The flag queue says what fired each flag, and filters by whose, how severe and what
kind; the API's flags carry the same reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from recovery.models import Flag, FlagKind, Severity
from recovery.services.checkins import urge_record
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def _browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _checkin(enrollment: Any, **answers: Any) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "mood": 3,
        "craving": 2,
        "used_substance": False,
        "device_time": timezone.now().isoformat(),
        "device_timezone": enrollment.timezone,
        **answers,
    }
    response = client_for(enrollment.patient).post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201, response.content


def test_each_flag_says_what_fired_it_on_the_page_and_in_the_api(enrollment: Any) -> None:
    _checkin(enrollment, craving=9, used_substance=True, substances=["alcohol", "cannabis"])
    urge_record(enrollment=enrollment, intensity=7)
    reasons = dict(Flag.objects.values_list("kind", "reason"))
    assert reasons == {
        FlagKind.HIGH_CRAVING: {"craving": 9, "threshold": 8},
        FlagKind.SUBSTANCE_USE: {"substances": ["alcohol", "cannabis"]},
        FlagKind.URGE: {"intensity": 7},
    }
    html = _browser(enrollment.primary_counselor).get("/dashboard/flags/").content.decode()
    assert "Craving 9 of 10, threshold 8" in html
    assert "Reported use: alcohol, cannabis" in html
    assert "Urge button pressed, intensity 7 of 10" in html
    api = client_for(enrollment.primary_counselor).get("/api/v1/flags/").json()
    rows = api["results"] if isinstance(api, dict) else api
    by_kind = {row["kind"]: row["reason"] for row in rows}
    assert by_kind[FlagKind.HIGH_CRAVING] == {"craving": 9, "threshold": 8}


def test_a_lowered_threshold_is_the_one_the_reason_names(enrollment: Any, supervisor: Any) -> None:
    changed = client_for(supervisor).patch(
        "/api/v1/program/settings/", {"craving_threshold": 5}, format="json"
    )
    assert changed.status_code == 200
    _checkin(enrollment, craving=6)
    assert Flag.objects.get().reason == {"craving": 6, "threshold": 5}


def test_filters_for_mine_unassigned_severity_kind_and_escalated() -> None:
    program = ProgramFactory()
    me, colleague = CounselorFactory(program=program), CounselorFactory(program=program)
    mine = EnrollmentFactory(program=program, primary_counselor=me)
    shared = EnrollmentFactory(program=program, primary_counselor=colleague, team=[me])
    now = timezone.now()
    for enrollment, kind, severity, assignee in (
        (mine, FlagKind.HIGH_CRAVING, Severity.WARNING, me),
        (shared, FlagKind.SUBSTANCE_USE, Severity.URGENT, colleague),
        (shared, FlagKind.SELF_HARM, Severity.CRISIS, None),
    ):
        Flag.objects.create(
            enrollment=enrollment,
            kind=kind,
            severity=severity,
            window_key="w",
            assigned_to=assignee,
            created_at=now,
        )
    client = _browser(me)

    def shown(query: str) -> list[str]:
        response = client.get(f"/dashboard/flags/{query}")
        assert response.status_code == 200
        html = response.content.decode()
        return sorted(
            kind for kind in FlagKind.values if f'data-kind-label="{FlagKind(kind).label}"' in html
        )

    assert shown("") == sorted([FlagKind.HIGH_CRAVING, FlagKind.SUBSTANCE_USE, FlagKind.SELF_HARM])
    assert shown("?assigned=me") == [FlagKind.HIGH_CRAVING]
    assert shown("?assigned=nobody") == [FlagKind.SELF_HARM]
    assert shown(f"?severity={Severity.URGENT}") == [FlagKind.SUBSTANCE_USE]
    assert shown(f"?kind={FlagKind.SELF_HARM}&assigned=nobody") == [FlagKind.SELF_HARM]
    assert shown(f"?kind={FlagKind.SELF_HARM}&assigned=me") == []
    assert client.get("/dashboard/flags/?severity=99").status_code == 400
    Flag.objects.filter(kind=FlagKind.SUBSTANCE_USE).update(escalated_at=now)
    assert shown("?escalated=on") == [FlagKind.SUBSTANCE_USE]


def test_a_filtered_queue_tells_the_live_script_its_filters(enrollment: Any) -> None:
    _checkin(enrollment, craving=9)
    client = _browser(enrollment.primary_counselor)
    plain = client.get("/dashboard/flags/").content.decode()
    assert "data-filter-severity" not in plain
    assert f'data-kind="{FlagKind.HIGH_CRAVING}"' in plain
    assert f'data-assigned-to="{enrollment.primary_counselor_id}"' in plain
    filtered = client.get(f"/dashboard/flags/?severity={Severity.CRISIS}&assigned=me")
    html = filtered.content.decode()
    assert f'data-filter-severity="{Severity.CRISIS}"' in html
    assert 'data-filter-assigned="me"' in html
    assert f'data-user-id="{enrollment.primary_counselor_id}"' in html
    assert "Craving 9 of 10" not in html


def test_a_positive_screen_flag_names_what_was_positive(enrollment: Any) -> None:
    from recovery.dates import enrollment_today
    from recovery.models import ScreenMethod, ScreenStatus
    from recovery.services.screens import ResultInput, screen_record

    screen_record(
        enrollment=enrollment,
        actor=enrollment.primary_counselor,
        collected_on=enrollment_today(enrollment),
        method=ScreenMethod.URINE,
        status=ScreenStatus.COMPLETED,
        results=[
            ResultInput("cocaine", "positive"),
            ResultInput("buprenorphine", "positive", prescribed=True),
            ResultInput("alcohol", "negative"),
        ],
        observed=True,
    )
    flag = Flag.objects.get()
    assert flag.reason["positive_for"] == ["cocaine"]
    html = _browser(enrollment.primary_counselor).get("/dashboard/flags/").content.decode()
    assert f"Drug screen {flag.reason['screen_outcome']}, positive for cocaine" in html
