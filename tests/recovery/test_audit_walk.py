"""Every staff read of patient data leaves one audit entry per patient read.

The walk: every GET operation of the OpenAPI schema, called by a counselor (and a
supervisor) of the fuzz world (tests/fuzz/conftest.py: one program, the counselor on the
care team of the first patient only, every kind of record for every patient). Each call
that staff may make must either record exactly the patients the caller may see, once
each, or be listed in EXEMPT with the reason it serves no patient data. A new endpoint
that reads patient data without the selectors noting it fails here.

What "the patients read" are (recovery/selectors/access.py): the one patient looked up
by id, or, for a list, the patients of the rows on the page; a `?patient=` filter reads
that patient only.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from recovery.models import AuditEntry, Enrollment, SupportContact
from tests.conftest import client_for
from tests.fuzz.conftest import World, build_world

pytestmark = pytest.mark.django_db

# GET operations that staff may call and that serve no patient's data.
EXEMPT = {
    "/api/v1/me/": "the caller's own account",
    "/api/v1/exercises/": "the exercise library",
    "/api/v1/exercises/{id}/": "the exercise library",
    "/api/v1/monitoring-settings/": "the program's thresholds",
    "/api/v1/program/office-hours/": "the program's office hours",
    "/api/v1/program/settings/": "the program's settings",
    "/api/v1/notifications/": "the caller's own inbox",
    "/api/v1/notifications/{id}/": "the caller's own inbox",
    "/api/v1/notifications/preferences/": "the caller's own settings",
    "/api/v1/notifications/unread-count/": "the caller's own inbox",
    "/api/v1/audit/": "the trail itself (reading it is not re-logged)",
    "/api/v1/program/instruments/": "the program's instrument library",
    "/api/v1/program/questionnaire-schedule/": "the program's questionnaire schedule",
    "/api/v1/incentives/settings/": "the program's caps and its spending in total",
    "/api/v1/incentive-protocols/": "the program's incentive protocols",
    "/api/v1/incentives/catalogue/": "the program's catalogue of rewards",
    "/api/v1/staff/": "the program's staff accounts",
    "/api/v1/staff/invitations/": "the program's open staff invitations",
}
# Which of a segment's ids to use where the first one has nothing to show.
ID_CHOICE = {"/api/v1/sessions/{id}/attendance/": 1}  # the past session, with attendance


def _get_operations() -> list[tuple[str, set[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = []
    for path, methods in sorted(schema["paths"].items()):
        if "get" not in methods:
            continue
        query = {p["name"] for p in methods["get"].get("parameters", []) if p["in"] == "query"}
        ops.append((path, query))
    return ops


OPERATIONS = _get_operations()


def _url(path: str, world: World) -> str:
    def fill(match: re.Match[str]) -> str:
        segment = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        return str(world.ids[segment][ID_CHOICE.get(path, 0)])

    return re.sub(r"\{[^}]+\}", fill, path)


def _recorded(since: int) -> list[int]:
    return list(
        AuditEntry.objects.filter(id__gt=since)
        .order_by("enrollment_id")
        .values_list("enrollment_id", flat=True)
    )


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def walk_world() -> World:
    return build_world()


@pytest.mark.parametrize("role", ["counselor", "supervisor"])
def test_every_staff_read_of_patient_data_is_audited_once_per_patient(
    walk_world: World, role: str
) -> None:
    staff = walk_world.users[role]
    client = client_for(staff)
    own = walk_world.ids["patients"][0]
    in_reach = set(
        Enrollment.objects.filter(program_id=staff.program_id).values_list("id", flat=True)
        if role == "supervisor"
        else {own}
    )
    walked, problems = [], []
    for path, query in OPERATIONS:
        calls = [_url(path, walk_world)]
        if "patient" in query:  # the unfiltered list, and one patient's
            calls.append(f"{calls[0]}?patient={own}")
        for url in calls:
            before = _last_id()
            response = client.get(url)
            if response.status_code in (401, 403) or (
                response.status_code == 400 and "patient" in query and "?" not in url
            ):
                continue  # not a staff operation, or one that needs the patient named
            recorded = _recorded(before)
            if path in EXEMPT:
                if recorded:
                    problems.append(f"{url}: exempt but recorded {recorded}")
                continue
            assert response.status_code == 200, (url, response.content)
            walked.append(url)
            if len(recorded) != len(set(recorded)):
                problems.append(f"{url}: more than one entry per patient {recorded}")
            expected = {own} if "?" in url or "{" in path else in_reach
            if set(recorded) != expected:
                problems.append(f"{url}: recorded {sorted(set(recorded))}, read {expected}")
    assert not problems, "\n".join(problems)
    assert len(walked) >= 30  # the walk did reach the staff operations


def test_a_counselors_read_of_support_contacts_and_attendance_summary_is_recorded(
    walk_world: World,
) -> None:
    """The two reads the old middleware missed: neither response names a `patient`."""
    counselor = walk_world.users["counselor"]
    own = walk_world.ids["patients"][0]
    client = client_for(counselor)
    contacts = client.get("/api/v1/contacts/").json()
    assert {c["id"] for c in contacts} == set(
        SupportContact.objects.filter(enrollment_id=own).values_list("id", flat=True)
    )
    assert client.get(f"/api/v1/attendance/summary/?patient={own}").status_code == 200
    entries = list(
        AuditEntry.objects.filter(actor=counselor).values_list("resource", "enrollment_id")
    )
    assert sorted(entries) == [("attendance-summary", own), ("contacts", own)]


def test_exempt_operations_exist(walk_world: World) -> None:
    """The exemptions name real operations (a renamed one must not linger unchecked)."""
    paths = {path for path, _ in OPERATIONS}
    assert set(EXEMPT) <= paths
