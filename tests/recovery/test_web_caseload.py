"""The caseload as a counselor works it: who needs attention first (open flags by
severity, then the longest waiting, then missed check-ins), a "needs attention" filter,
and adherence that says why it is empty."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from recovery.models import CheckInSchedule, Flag, FlagKind, FlagStatus, Severity
from recovery.selectors.dashboard import by_attention, caseload, needs_attention
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def _flag(enrollment: Any, severity: int, *, hours_ago: int, status: str = FlagStatus.OPEN) -> None:
    Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.HIGH_CRAVING,
        severity=severity,
        window_key=f"w{hours_ago}-{severity}",
        status=status,
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )


def _missed(enrollment: Any, count: int) -> None:
    ScheduleFactory(enrollment=enrollment, consecutive_missed=count)


@pytest.fixture
def patients() -> dict[str, Any]:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)

    def patient(last_name: str) -> Any:
        enrollment = EnrollmentFactory(program=program, primary_counselor=counselor)
        enrollment.patient.last_name = last_name
        enrollment.patient.save()
        return enrollment

    found = {name: patient(name) for name in ("Adams", "Baker", "Clark", "Diaz", "Evans", "Ford")}
    _flag(found["Ford"], Severity.WARNING, hours_ago=1)
    _flag(found["Evans"], Severity.CRISIS, hours_ago=1, status=FlagStatus.ACKNOWLEDGED)
    _flag(found["Diaz"], Severity.WARNING, hours_ago=5)  # waiting longer than Ford's
    _flag(found["Adams"], Severity.URGENT, hours_ago=2, status=FlagStatus.RESOLVED)
    _missed(found["Clark"], 3)
    _missed(found["Baker"], 1)
    _missed(found["Adams"], 0)
    return {"counselor": counselor, **found}


def _order(rows: list[Any]) -> list[str]:
    return [row.enrollment.patient.last_name for row in rows]


def test_who_needs_attention_comes_first(patients: dict[str, Any]) -> None:
    rows = by_attention(caseload(user=patients["counselor"]))
    assert _order(rows) == ["Evans", "Diaz", "Ford", "Clark", "Baker", "Adams"]
    assert _order([row for row in rows if needs_attention(row)]) == _order(rows)[:5]
    evans = rows[0]
    assert evans.top_severity == Severity.CRISIS
    assert rows[3].missed_checkins == 3


def _page_order(html: str) -> list[str]:
    return re.findall(r'<th scope="row"[^>]*>\s*<a href="[^"]+">\S+ (\w+)</a>', html)


def _browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_sorts_by_attention_and_filters_to_who_needs_it(patients: dict[str, Any]) -> None:
    client = _browser(patients["counselor"])
    default = client.get("/dashboard/").content.decode()
    assert _page_order(default) == ["Evans", "Diaz", "Ford", "Clark", "Baker", "Adams"]
    assert "3 missed in a row" in default
    attention = client.get("/dashboard/?show=attention").content.decode()
    assert _page_order(attention) == ["Evans", "Diaz", "Ford", "Clark", "Baker"]
    assert "5 patients needing attention" in attention
    by_name = client.get("/dashboard/?sort=name").content.decode()
    assert _page_order(by_name) == ["Adams", "Baker", "Clark", "Diaz", "Evans", "Ford"]


def test_an_empty_attention_list_says_so() -> None:
    enrollment = EnrollmentFactory()
    html = _browser(enrollment.primary_counselor).get("/dashboard/?show=attention")
    assert "Nobody on your caseload needs attention right now." in html.content.decode()


def test_adherence_with_nothing_due_says_why_instead_of_n_a() -> None:
    tomorrow = timezone.now().date() + timedelta(days=2)
    enrollment = EnrollmentFactory(start_date=tomorrow)
    CheckInSchedule.objects.filter(enrollment=enrollment).delete()
    html = _browser(enrollment.primary_counselor).get("/dashboard/").content.decode()
    assert "No check-in due yet" in html
    assert "n/a" not in html


def test_a_supervisor_looks_at_one_counselors_caseload() -> None:
    from tests.factories import SupervisorFactory

    program = ProgramFactory()
    first, second = CounselorFactory(program=program), CounselorFactory(program=program)
    theirs = EnrollmentFactory(program=program, primary_counselor=first)
    shared = EnrollmentFactory(program=program, primary_counselor=second, team=[first])
    others = EnrollmentFactory(program=program, primary_counselor=second)
    supervisor = SupervisorFactory(program=program)

    rows = caseload(user=supervisor, counselor_id=first.id)
    assert {row.enrollment.id for row in rows} == {theirs.id, shared.id}

    client = _browser(supervisor)
    everyone = client.get("/dashboard/").content.decode()
    assert all(f"/dashboard/patients/{e.id}/" in everyone for e in (theirs, shared, others))
    picked = client.get(f"/dashboard/?counselor={first.id}").content.decode()
    assert f"/dashboard/patients/{others.id}/" not in picked
    assert f"/dashboard/patients/{theirs.id}/" in picked
    assert 'id="caseload-counselor"' in picked

    # A counselor has no such choice: the parameter changes nothing of their reach.
    mine = _browser(second).get(f"/dashboard/?counselor={first.id}").content.decode()
    assert 'id="caseload-counselor"' not in mine
    assert f"/dashboard/patients/{others.id}/" in mine
    assert f"/dashboard/patients/{theirs.id}/" not in mine
