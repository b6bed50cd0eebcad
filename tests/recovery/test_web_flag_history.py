"""The flag queue's history (resolved flags: who, when, why, with filters) and the reopen
action, on the same access rules and audit as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.timezones import local_today
from notifications.models import Notification
from recovery.models import AuditEntry, Flag, FlagKind, FlagStatus, Severity
from recovery.services.flags import flag_resolve
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _flag(enrollment: Any, kind: str = FlagKind.HIGH_CRAVING, day: str = "2026-03-01") -> Flag:
    return Flag.objects.create(
        enrollment=enrollment,
        kind=kind,
        severity=Severity.URGENT if kind == FlagKind.SUBSTANCE_USE else Severity.WARNING,
        window_key=day,
        assigned_to=enrollment.primary_counselor,
        created_at=timezone.now() - timedelta(hours=2),
    )


@pytest.fixture
def resolved(enrollment: Any, counselor: Any) -> Flag:
    flag = _flag(enrollment)
    return flag_resolve(flag=flag, actor=counselor, outcome_note="Called; plan for tonight.")


def test_the_history_shows_who_resolved_each_flag_when_and_why(
    resolved: Flag, counselor: Any, enrollment: Any
) -> None:
    still_open = _flag(enrollment, FlagKind.SUBSTANCE_USE)
    response = _browser(counselor).get("/dashboard/flags/resolved/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="resolved-{resolved.id}"' in html
    assert f'id="resolved-{still_open.id}"' not in html
    assert "Called; plan for tonight." in html
    assert counselor.get_full_name() in html
    assert "Reopen flag" in html
    # The open queue links to the history and no longer lists the resolved flag.
    queue = _browser(counselor).get("/dashboard/flags/").content.decode()
    assert 'href="/dashboard/flags/resolved/"' in queue
    assert f'id="flag-{resolved.id}"' not in queue


def test_the_history_is_the_callers_reach_and_reading_it_is_audited(
    resolved: Flag, program: Any, supervisor: Any
) -> None:
    colleague = CounselorFactory(program=program)
    theirs = EnrollmentFactory(program=program, primary_counselor=colleague)
    other = flag_resolve(flag=_flag(theirs), actor=colleague, outcome_note="Seen in clinic.")
    mine = _browser(resolved.assigned_to).get("/dashboard/flags/resolved/").content.decode()
    assert f'id="resolved-{resolved.id}"' in mine
    assert f'id="resolved-{other.id}"' not in mine
    everyone = _browser(supervisor).get("/dashboard/flags/resolved/").content.decode()
    assert f'id="resolved-{resolved.id}"' in everyone
    assert f'id="resolved-{other.id}"' in everyone
    outsider = SupervisorFactory()
    assert (
        f"resolved-{resolved.id}"
        not in _browser(outsider).get("/dashboard/flags/resolved/").content.decode()
    )
    read = AuditEntry.objects.filter(resource="dashboard-flag-history", actor=supervisor)
    assert set(read.values_list("enrollment_id", flat=True)) == {
        resolved.enrollment_id,
        theirs.id,
    }


def test_filters_by_kind_severity_resolver_and_local_dates(
    resolved: Flag, enrollment: Any, program: Any, supervisor: Any
) -> None:
    by_supervisor = flag_resolve(
        flag=_flag(enrollment, FlagKind.SUBSTANCE_USE),
        actor=supervisor,
        outcome_note="Screen booked.",
    )
    browser = _browser(supervisor)

    def shown(query: str) -> set[int]:
        response = browser.get(f"/dashboard/flags/resolved/?{query}")
        assert response.status_code == 200, response.content
        html = response.content.decode()
        return {f.id for f in (resolved, by_supervisor) if f'id="resolved-{f.id}"' in html}

    assert shown("") == {resolved.id, by_supervisor.id}
    assert shown(f"resolved_by={supervisor.id}") == {by_supervisor.id}
    assert shown(f"kind={FlagKind.HIGH_CRAVING}") == {resolved.id}
    assert shown(f"severity={int(Severity.URGENT)}") == {by_supervisor.id}
    today = local_today(program.timezone)
    assert shown(f"since={today}&until={today}") == {resolved.id, by_supervisor.id}
    assert shown(f"until={today - timedelta(days=1)}") == set()


def test_bad_filters_say_which_field_and_why(supervisor: Any) -> None:
    response = _browser(supervisor).get(
        "/dashboard/flags/resolved/?since=2026-05-02&until=2026-05-01&severity=7"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give a date on or after the first one." in html
    assert "Select a valid choice" in html


def test_reopen_from_the_history_puts_the_flag_back_as_the_api_shows(
    resolved: Flag, counselor: Any, supervisor: Any
) -> None:
    response = _browser(counselor).post(
        f"/dashboard/flags/{resolved.id}/reopen/", {"note": "Craving back tonight."}, **JSON
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"]
    assert body["remove"]
    assert body["status"] == "open"
    assert body["message"] == "Flag reopened."
    api = client_for(counselor).get(f"/api/v1/flags/{resolved.id}/").json()
    assert api["status"] == "open"
    assert api["resolved_at"] is None
    assert api["events"][-1]["action"] == "reopened"
    assert api["events"][-1]["note"] == "Craving back tonight."
    assert api["events"][-1]["actor"] == counselor.id
    # Back in the queue, gone from the history.
    assert (
        f'id="flag-{resolved.id}"' in _browser(counselor).get("/dashboard/flags/").content.decode()
    )
    history = _browser(counselor).get("/dashboard/flags/resolved/").content.decode()
    assert f'id="resolved-{resolved.id}"' not in history
    # Audited as a change by the counselor; the other dashboards are told.
    assert AuditEntry.objects.filter(
        resource="dashboard-flag-reopen", actor=counselor, action=AuditEntry.Action.UPDATE
    ).exists()
    told = Notification.objects.filter(kind="flag_changed", payload__action="reopened")
    assert {n.recipient_id for n in told} == {counselor.id, supervisor.id}


def test_reopen_without_javascript_redirects_back_with_a_message(
    resolved: Flag, counselor: Any
) -> None:
    response = _browser(counselor).post(
        f"/dashboard/flags/{resolved.id}/reopen/",
        {"next": "/dashboard/flags/resolved/?kind=high_craving"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/dashboard/flags/resolved/?kind=high_craving"
    assert "Flag reopened." in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == FlagStatus.OPEN


def test_reopen_is_refused_for_a_flag_not_resolved_and_outside_reach(
    resolved: Flag, enrollment: Any, program: Any
) -> None:
    open_flag = _flag(enrollment, FlagKind.SUBSTANCE_USE)
    refused = _browser(enrollment.primary_counselor).post(
        f"/dashboard/flags/{open_flag.id}/reopen/", {"note": "x" * 4001}, **JSON
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {
        "Only a resolved flag can be reopened.",
        "Ensure this value has at most 4000 characters (it has 4001).",
    }
    off_team = CounselorFactory(program=program)
    assert (
        _browser(off_team).post(f"/dashboard/flags/{resolved.id}/reopen/", **JSON).status_code
        == 404
    )
    assert (
        _browser(SupervisorFactory())
        .post(f"/dashboard/flags/{resolved.id}/reopen/", **JSON)
        .status_code
        == 404
    )
    resolved.refresh_from_db()
    assert resolved.status == FlagStatus.RESOLVED
    assert _browser(off_team).get(f"/dashboard/flags/{resolved.id}/reopen/").status_code == 405
