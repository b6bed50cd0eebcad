"""The audit trail's dashboard page and CSV: supervisors only, the API's rows under the
same filters, whole days in the program's zone, pages of 50, not itself logged."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from recovery.models import AuditEntry, User
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
URL = "/dashboard/audit/"
CSV_URL = "/dashboard/audit.csv"


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _entry(actor: Any, enrollment: Any, action: str, at: datetime, **extra: Any) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        actor_role=actor.role,
        program_id=enrollment.program_id,
        enrollment_id=enrollment.id,
        action=action,
        resource=extra.pop("resource", "patient-detail"),
        method="GET",
        path=f"/api/v1/patients/{enrollment.id}/",
        status_code=200,
        at=at,
        **extra,
    )


def _page_ids(response: Any) -> list[int]:
    return [int(i) for i in re.findall(rb'data-entry-id="(\d+)"', response.content)]


def _api_ids(user: User, params: dict[str, Any]) -> list[int]:
    response = client_for(user).get("/api/v1/audit/", {**params, "page_size": 200})
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def trail() -> dict[str, Any]:
    """A New York program with two patients, a counselor and entries around midnight."""
    program: Any = ProgramFactory(timezone="America/New_York")
    supervisor: Any = SupervisorFactory(program=program, first_name="Sam")
    counselor: Any = CounselorFactory(program=program, first_name="Casey", last_name="Lee")
    ana: Any = EnrollmentFactory(program=program, patient__first_name="Ana")
    ben: Any = EnrollmentFactory(program=program, patient__first_name="Ben")
    # 2026-03-10 in New York runs from 05:00 UTC on the 10th to 04:00 UTC on the 11th
    # (daylight saving starts on 8 March).
    entries = {
        "before": _entry(counselor, ana, "read", datetime(2026, 3, 10, 3, 59, tzinfo=UTC)),
        "morning": _entry(counselor, ana, "read", datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),
        "late": _entry(counselor, ana, "update", datetime(2026, 3, 11, 3, 30, tzinfo=UTC)),
        "ben": _entry(supervisor, ben, "read", datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        "after": _entry(counselor, ana, "read", datetime(2026, 3, 11, 4, 0, tzinfo=UTC)),
    }
    other: Any = EnrollmentFactory(program=ProgramFactory())
    _entry(other.primary_counselor, other, "read", datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    return {
        "program": program,
        "supervisor": supervisor,
        "counselor": counselor,
        "ana": ana,
        "ben": ben,
        "entries": entries,
    }


def test_the_page_shows_the_programs_trail_newest_first(trail: dict[str, Any]) -> None:
    page = browser(trail["supervisor"]).get(URL)
    assert page.status_code == 200
    entries = trail["entries"]
    assert _page_ids(page) == [
        entries[name].id for name in ("after", "late", "ben", "morning", "before")
    ]
    assert b"Casey Lee" in page.content
    assert b"Ana" in page.content


def test_filters_keep_a_local_day_and_match_the_api(trail: dict[str, Any]) -> None:
    client = browser(trail["supervisor"])
    day = {"since": "2026-03-10", "until": "2026-03-10"}
    entries = trail["entries"]

    whole_day = client.get(URL, day)
    narrowed = client.get(
        URL, {**day, "patient": trail["ana"].id, "actor": trail["counselor"].id, "action": "read"}
    )

    assert _page_ids(whole_day) == [entries[n].id for n in ("late", "ben", "morning")]
    assert _page_ids(narrowed) == [entries["morning"].id]
    # The API, asked for the same local day as instants, answers the same rows.
    instants = {"since": "2026-03-10T00:00:00-04:00", "until": "2026-03-11T00:00:00-04:00"}
    assert _api_ids(trail["supervisor"], instants) == _page_ids(whole_day)
    api_narrowed = _api_ids(
        trail["supervisor"],
        {**instants, "patient": trail["ana"].id, "actor": trail["counselor"].id, "action": "read"},
    )
    assert api_narrowed == _page_ids(narrowed)


def test_pages_of_fifty(trail: dict[str, Any]) -> None:
    for minute in range(55):
        _entry(
            trail["counselor"], trail["ben"], "read", datetime(2026, 4, 1, 12, minute, tzinfo=UTC)
        )
    client = browser(trail["supervisor"])
    first = client.get(URL, {"patient": trail["ben"].id})
    second = client.get(URL, {"patient": trail["ben"].id, "page": 2})
    assert len(_page_ids(first)) == 50
    assert len(_page_ids(second)) == 6
    assert b"page 1 of 2" in first.content
    assert f"patient={trail['ben'].id}&amp;page=2".encode() in first.content
    assert set(_page_ids(first)).isdisjoint(_page_ids(second))


def test_the_csv_has_every_row_the_filters_keep(trail: dict[str, Any]) -> None:
    EnrollmentFactory(program=trail["program"], patient__first_name="=HYPERLINK(1)")
    evil = trail["program"].enrollments.get(patient__first_name="=HYPERLINK(1)")
    _entry(trail["counselor"], evil, "read", datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    response = browser(trail["supervisor"]).get(
        CSV_URL, {"since": "2026-03-10", "until": "2026-03-10"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    entries = trail["entries"]
    assert [int(r["patient"]) for r in rows] == [
        trail["ana"].id,
        evil.id,
        trail["ben"].id,
        trail["ana"].id,
    ]
    assert rows[0]["actor_name"] == "Casey Lee"
    assert rows[0]["at"] == entries["late"].at.isoformat()
    assert rows[1]["patient_name"].startswith("'=HYPERLINK")


def test_bad_filters_are_a_400_naming_them(trail: dict[str, Any]) -> None:
    client = browser(trail["supervisor"])
    page = client.get(URL, {"since": "2026-03-11", "until": "2026-03-10", "action": "peek"})
    assert page.status_code == 400
    assert {"until", "action"} <= set(page.context["form"].errors)
    assert _page_ids(page) == []
    assert client.get(URL, {"patient": "99999999"}).status_code == 400
    assert client.get(CSV_URL, {"since": "yesterday"}).status_code == 400


def test_supervisors_only_and_reading_it_is_not_logged(trail: dict[str, Any]) -> None:
    for user in (trail["counselor"], trail["ana"].patient):
        client = browser(user)
        assert client.get(URL).status_code == 404
        assert client.get(CSV_URL).status_code == 404
    assert b"Audit trail" not in browser(trail["counselor"]).get("/dashboard/").content
    supervisor = browser(trail["supervisor"])
    assert b"Audit trail" in supervisor.get("/dashboard/").content
    before = AuditEntry.objects.count()  # the caseload's reads are logged, as always
    supervisor.get(URL)
    assert AuditEntry.objects.count() == before
    b"".join(supervisor.get(CSV_URL).streaming_content)
    # The download is: every patient's name leaves the system.
    assert AuditEntry.objects.count() == before + 1
    export = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert export.resource == "audit-trail-csv"
    assert (export.actor_id, export.program_id) == (trail["supervisor"].id, trail["program"].id)


def test_another_programs_supervisor_sees_none_of_it(trail: dict[str, Any]) -> None:
    stranger = SupervisorFactory(program=ProgramFactory())
    page = browser(stranger).get(URL)
    ours = {e.id for e in trail["entries"].values()}
    assert ours.isdisjoint(_page_ids(page))
    # A patient of another program is not a choice: 400, not their rows.
    assert browser(stranger).get(URL, {"patient": trail["ana"].id}).status_code == 400
