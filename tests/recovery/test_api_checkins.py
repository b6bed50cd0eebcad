"""Check-ins as the app sends them: retried, raced, late, in crisis; and as staff read them."""

from __future__ import annotations

import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from recovery.models import CheckIn, Enrollment, Flag, FlagKind, Severity, User
from recovery.notification_kinds import NotificationKind
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def checkin_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "mood": 4,
        "craving": 2,
        "used_substance": False,
        "triggers": ["stress", "tiredness"],
        "hours_slept": "6.5",
        "note": "long day",
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
    }
    body.update(overrides)
    return body


# --- idempotency ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_checkin_posted_20_times_is_stored_once(patient_client: APIClient) -> None:
    body = checkin_body(craving=9, self_harm_thoughts=True)
    answers = [patient_client.post("/api/v1/checkins/", body, format="json") for _ in range(20)]
    assert {a.status_code for a in answers} == {201}
    assert CheckIn.objects.count() == 1
    first = answers[0].json()
    assert all(a.json() == first for a in answers)
    assert first["id"] == body["id"]
    assert "Idempotent-Replayed" not in answers[0].headers
    assert all(a.headers["Idempotent-Replayed"] == "true" for a in answers[1:])
    # The rules ran once: one flag of each kind, one crisis message to the patient.
    assert Flag.objects.filter(kind=FlagKind.HIGH_CRAVING).count() == 1
    assert Flag.objects.filter(kind=FlagKind.SELF_HARM).count() == 1
    assert Notification.objects.filter(kind=NotificationKind.CRISIS_RESOURCES).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_checkin_posted_concurrently_is_stored_once() -> None:
    enrollment = EnrollmentFactory()
    patient: User = enrollment.patient
    body = checkin_body(craving=9)

    def post(_: int) -> tuple[int, Any]:
        try:
            response = client_for(patient).post("/api/v1/checkins/", body, format="json")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(16)))

    assert {status for status, _ in answers} == {201}, answers
    assert len({repr(sorted(b.items())) for _, b in answers}) == 1
    assert CheckIn.objects.filter(enrollment=enrollment).count() == 1
    assert Flag.objects.filter(enrollment=enrollment, kind=FlagKind.HIGH_CRAVING).count() == 1


@pytest.mark.django_db
def test_the_same_id_with_other_answers_is_refused(patient_client: APIClient) -> None:
    body = checkin_body()
    assert patient_client.post("/api/v1/checkins/", body, format="json").status_code == 201
    changed = patient_client.post("/api/v1/checkins/", {**body, "mood": 1}, format="json")
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    assert CheckIn.objects.get().mood == 4


@pytest.mark.django_db
def test_two_patients_may_use_the_same_client_id(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    other = EnrollmentFactory(program=enrollment.program)
    body = checkin_body()
    assert patient_client.post("/api/v1/checkins/", body, format="json").status_code == 201
    theirs = client_for(other.patient).post("/api/v1/checkins/", body, format="json")
    assert theirs.status_code == 201
    assert theirs.json()["patient"] == other.id
    assert CheckIn.objects.count() == 2


# --- what the answer says -------------------------------------------------------------


@pytest.mark.django_db
def test_hours_slept_is_a_number_kept_to_one_decimal(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    body = checkin_body(hours_slept=7.55)
    response = patient_client.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201
    assert response.json()["hours_slept"] == 7.6


@pytest.mark.django_db
def test_an_ordinary_checkin_answers_with_what_was_stored(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    body = checkin_body()
    response = patient_client.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["patient"] == enrollment.id
    assert data["mood"] == 4
    assert data["triggers"] == ["stress", "tiredness"]
    assert data["hours_slept"] == 6.5  # a number, as the schema says
    assert data["note"] == "long day"
    assert data["is_late"] is False
    assert data["crisis_resources"] is None
    assert data["received_at"] is not None
    assert not Flag.objects.exists()
    detail = patient_client.get(f"/api/v1/checkins/{body['id']}/")
    assert detail.status_code == 200
    assert detail.json()["note"] == "long day"


@pytest.mark.django_db
def test_a_late_upload_keeps_its_device_time_and_is_marked_late(
    patient_client: APIClient,
) -> None:
    written = (timezone.now() - timedelta(hours=3)).astimezone(NEW_YORK).replace(microsecond=0)
    response = patient_client.post(
        "/api/v1/checkins/", checkin_body(device_time=written.isoformat()), format="json"
    )
    assert response.status_code == 201
    data = response.json()
    assert data["is_late"] is True
    assert datetime.fromisoformat(data["device_time"]) == written
    stored = CheckIn.objects.get()
    assert stored.device_time == written
    assert stored.received_at - stored.device_time >= timedelta(hours=3)


@pytest.mark.django_db
def test_thoughts_of_self_harm_answer_with_crisis_resources(
    patient_client: APIClient, enrollment: Enrollment, counselor_client: APIClient
) -> None:
    response = patient_client.post(
        "/api/v1/checkins/", checkin_body(self_harm_thoughts=True), format="json"
    )
    assert response.status_code == 201
    resources = response.json()["crisis_resources"]
    assert any(r["phone"] == "988" for r in resources)
    assert any("988" in r["name"] for r in resources)
    # The patient is also sent the resources, and the care team sees a crisis flag.
    assert Notification.objects.filter(
        recipient=enrollment.patient, kind=NotificationKind.CRISIS_RESOURCES
    ).exists()
    flags = counselor_client.get("/api/v1/flags/").json()["results"]
    assert [(f["kind"], f["severity"]) for f in flags] == [("self_harm", Severity.CRISIS)]


@pytest.mark.django_db
def test_high_craving_raises_a_flag_the_counselor_sees(
    patient_client: APIClient, enrollment: Enrollment, counselor_client: APIClient
) -> None:
    patient_client.post("/api/v1/checkins/", checkin_body(craving=9), format="json")
    flags = counselor_client.get("/api/v1/flags/").json()["results"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag["kind"] == "high_craving"
    assert flag["patient"] == enrollment.id
    assert flag["status"] == "open"
    assert flag["severity_label"] == "Warning"
    assert [e["action"] for e in flag["events"]] == ["raised"]
    # A counselor of the program who is not on the care team does not see it.
    outsider = client_for(CounselorFactory(program=enrollment.program))
    assert outsider.get("/api/v1/flags/").json()["results"] == []


@pytest.mark.django_db
def test_a_craving_under_the_threshold_raises_nothing(patient_client: APIClient) -> None:
    patient_client.post("/api/v1/checkins/", checkin_body(craving=7), format="json")
    assert not Flag.objects.exists()


@pytest.mark.django_db
def test_substance_use_raises_an_urgent_flag(
    patient_client: APIClient, counselor_client: APIClient
) -> None:
    body = checkin_body(used_substance=True, substances=["alcohol"])
    assert patient_client.post("/api/v1/checkins/", body, format="json").status_code == 201
    flags = counselor_client.get("/api/v1/flags/", {"kind": "substance_use"}).json()["results"]
    assert [f["severity"] for f in flags] == [Severity.URGENT]


@pytest.mark.django_db
def test_medication_answer_without_medication_on_record_is_refused(
    patient_client: APIClient,
) -> None:
    response = patient_client.post(
        "/api/v1/checkins/", checkin_body(medication_taken=True), format="json"
    )
    assert response.status_code == 400
    assert "medication_taken" in response.json()["error"]["fields"]
    assert not CheckIn.objects.exists()


@pytest.mark.django_db
def test_a_checkin_with_several_problems_names_them_all_in_one_answer(
    patient_client: APIClient,
) -> None:
    body = checkin_body(
        mood=99,  # the field's own range
        substances=["alcohol"],  # a rule across fields: only with used_substance
        medication_taken=True,  # the service's rule: no medication on record
    )
    response = patient_client.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"mood", "substances", "medication_taken"}
    assert not CheckIn.objects.exists()


@pytest.mark.django_db
def test_staff_cannot_submit_checkins(counselor_client: APIClient) -> None:
    response = counselor_client.post("/api/v1/checkins/", checkin_body(), format="json")
    assert response.status_code == 403
    assert not CheckIn.objects.exists()


# --- staff reading check-ins ----------------------------------------------------------


@pytest.fixture
def two_patients_checkins(enrollment: Enrollment) -> dict[str, Any]:
    other = EnrollmentFactory(
        program=enrollment.program, primary_counselor=enrollment.primary_counselor
    )
    now = timezone.now()
    times = {"old": now - timedelta(days=10), "mid": now - timedelta(days=5), "new": now}
    ids: dict[str, str] = {}
    for label, at in times.items():
        body = checkin_body(device_time=at.isoformat())
        assert client_for(enrollment.patient).post("/api/v1/checkins/", body, format="json")
        ids[label] = body["id"]
    theirs = checkin_body()
    client_for(other.patient).post("/api/v1/checkins/", theirs, format="json")
    return {"mine": enrollment, "other": other, "ids": ids, "times": times, "theirs": theirs}


@pytest.mark.django_db
def test_staff_list_filters_by_patient(
    counselor_client: APIClient, two_patients_checkins: dict[str, Any]
) -> None:
    mine = two_patients_checkins["mine"]
    everyone = counselor_client.get("/api/v1/checkins/").json()
    assert everyone["count"] == 4
    only = counselor_client.get("/api/v1/checkins/", {"patient": mine.id}).json()
    assert only["count"] == 3
    assert {row["patient"] for row in only["results"]} == {mine.id}
    # Newest first.
    assert [r["id"] for r in only["results"]] == [
        two_patients_checkins["ids"][k] for k in ("new", "mid", "old")
    ]


@pytest.mark.django_db
def test_staff_list_filters_by_since_and_until(
    counselor_client: APIClient, two_patients_checkins: dict[str, Any]
) -> None:
    mine = two_patients_checkins["mine"]
    times = two_patients_checkins["times"]
    ids = two_patients_checkins["ids"]
    window = {
        "patient": mine.id,
        "since": (times["old"] + timedelta(days=1)).isoformat(),
        "until": (times["new"] - timedelta(days=1)).isoformat(),
    }
    rows = counselor_client.get("/api/v1/checkins/", window).json()["results"]
    assert [r["id"] for r in rows] == [ids["mid"]]
    since_only = {"patient": mine.id, "since": (times["mid"] - timedelta(hours=1)).isoformat()}
    rows = counselor_client.get("/api/v1/checkins/", since_only).json()["results"]
    assert {r["id"] for r in rows} == {ids["mid"], ids["new"]}
    # `until` is exclusive.
    until_exact = {"patient": mine.id, "until": times["mid"].isoformat()}
    rows = counselor_client.get("/api/v1/checkins/", until_exact).json()["results"]
    assert [r["id"] for r in rows] == [ids["old"]]


@pytest.mark.django_db
def test_a_patient_sees_only_their_own_checkins_whatever_they_filter(
    two_patients_checkins: dict[str, Any],
) -> None:
    mine = two_patients_checkins["mine"]
    other = two_patients_checkins["other"]
    client = client_for(mine.patient)
    assert client.get("/api/v1/checkins/").json()["count"] == 3
    assert client.get("/api/v1/checkins/", {"patient": other.id}).json()["count"] == 0
    theirs = two_patients_checkins["theirs"]["id"]
    assert client.get(f"/api/v1/checkins/{theirs}/").status_code == 404


@pytest.mark.django_db
def test_pagination_is_capped_and_pages(
    counselor_client: APIClient, two_patients_checkins: dict[str, Any]
) -> None:
    first = counselor_client.get("/api/v1/checkins/", {"page_size": 3}).json()
    assert len(first["results"]) == 3
    assert first["next"] is not None
    second = counselor_client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None


# --- urges ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_urge_button_records_the_urge_and_raises_one_flag_a_day(
    patient_client: APIClient, counselor_client: APIClient, enrollment: Enrollment
) -> None:
    first = patient_client.post("/api/v1/urges/", {"intensity": 8}, format="json")
    second = patient_client.post("/api/v1/urges/", {}, format="json")
    assert first.status_code == second.status_code == 201
    assert first.json()["urge"]["intensity"] == 8
    assert second.json()["urge"]["intensity"] is None
    urges = counselor_client.get("/api/v1/urges/", {"patient": enrollment.id}).json()
    assert urges["count"] == 2
    flags = counselor_client.get("/api/v1/flags/", {"kind": "urge"}).json()["results"]
    assert len(flags) == 1


# --- the check-in schedule ------------------------------------------------------------


@pytest.mark.django_db
def test_a_checkin_inside_the_window_moves_the_next_deadline(
    enrollment: Enrollment, time_machine: Any
) -> None:
    evening = datetime(2026, 3, 4, 18, 30, tzinfo=NEW_YORK)  # a Wednesday
    time_machine.move_to(evening, tick=False)
    patient_client = client_for(enrollment.patient)  # tokens issued at the travelled time
    assert patient_client.get("/api/v1/me/checkin-schedule/").status_code == 404
    schedule = {"opens_at": "17:00", "due_by": "21:00", "days_of_week": [1, 3, 5]}
    response = patient_client.put(
        "/api/v1/me/checkin-schedule/", {**schedule, "grace_minutes": 60}, format="json"
    )
    assert response.status_code == 200
    today = datetime(2026, 3, 4, 22, 0, tzinfo=NEW_YORK)
    assert datetime.fromisoformat(response.json()["next_due_at"]) == today

    body = checkin_body(device_time=evening.isoformat())
    assert patient_client.post("/api/v1/checkins/", body, format="json").status_code == 201
    after = patient_client.get("/api/v1/me/checkin-schedule/").json()
    friday = datetime(2026, 3, 6, 22, 0, tzinfo=NEW_YORK)
    assert datetime.fromisoformat(after["next_due_at"]) == friday


@pytest.mark.django_db
def test_a_paused_schedule_has_no_deadline(
    patient_client: APIClient, counselor_client: APIClient, enrollment: Enrollment
) -> None:
    body = {
        "opens_at": "08:00",
        "due_by": "12:00",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "grace_minutes": 0,
        "paused": True,
        "paused_reason": "in hospital",
    }
    response = counselor_client.put(
        f"/api/v1/patients/{enrollment.id}/checkin-schedule/", body, format="json"
    )
    assert response.status_code == 200
    assert response.json()["next_due_at"] is None
    mine = patient_client.get("/api/v1/me/checkin-schedule/").json()
    assert mine["paused"] is True
    assert mine["paused_reason"] == "in hospital"


# --- what one check-in costs -----------------------------------------------------------


# Inside the test's own transaction the request's BEGIN and COMMIT are a savepoint.
def _controls_the_transaction(sql: str) -> bool:
    return sql in {"BEGIN", "COMMIT"} or sql.startswith(("SAVEPOINT ", "RELEASE SAVEPOINT "))


@pytest.mark.django_db
def test_a_first_checkin_of_the_window_costs_at_most_five_statements(
    enrollment: Enrollment, settings: Any, time_machine: Any, django_assert_max_num_queries: Any
) -> None:
    """The everyday check-in (inside the window: the schedule moves on, today's nudge is
    cancelled and the next one queued) reads the patient once and writes; the heard-from
    note waits for the process's next batch (notifications.presence)."""
    from notifications.presence import presence_flush
    from recovery.services.schedules import checkin_schedule_set

    settings.APP_HEARD_WRITE_DELAY_SECONDS = 60
    evening = datetime(2026, 3, 4, 18, 30, tzinfo=NEW_YORK)
    time_machine.move_to(evening, tick=False)
    checkin_schedule_set(
        enrollment=enrollment,
        opens_at=datetime.min.time().replace(hour=17),
        due_by=datetime.min.time().replace(hour=21),
        days_of_week=[1, 2, 3, 4, 5, 6, 7],
        grace_minutes=60,
    )
    client = client_for(enrollment.patient)
    body = checkin_body(device_time=evening.isoformat())
    try:
        with django_assert_max_num_queries(5 + 2) as captured:
            response = client.post("/api/v1/checkins/", body, format="json")
    finally:
        assert presence_flush() == 1
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in captured.captured_queries]
    assert len([s for s in statements if not _controls_the_transaction(s)]) <= 5, statements
    nudges = Notification.objects.filter(kind=NotificationKind.CHECKIN_NUDGE).order_by("due_at")
    assert [n.state for n in nudges] == ["cancelled", "pending"]


@pytest.mark.django_db
def test_check_ins_sync_by_updated_since(enrollment: Enrollment) -> None:
    start = timezone.now() - timedelta(hours=3)

    def at(offset: timedelta) -> Any:
        return time_machine.travel(start + offset, tick=False)

    with at(timedelta(0)):
        first = client_for(enrollment.patient).post(
            "/api/v1/checkins/", checkin_body(), format="json"
        )
    with at(timedelta(hours=1)):
        synced = client_for(enrollment.patient).get("/api/v1/checkins/").json()
    assert [c["id"] for c in synced["results"]] == [first.json()["id"]]
    # Stamped a minute before the sync read, committed after it: it comes next time.
    with at(timedelta(hours=1, minutes=-1)):
        straggler = client_for(enrollment.patient).post(
            "/api/v1/checkins/", checkin_body(), format="json"
        )
    with at(timedelta(hours=2)):
        second = client_for(enrollment.patient).post(
            "/api/v1/checkins/", checkin_body(), format="json"
        )
        client = client_for(enrollment.patient)
        since = client.get("/api/v1/checkins/", {"updated_since": synced["synced_at"]}).json()
        bad = client.get("/api/v1/checkins/", {"updated_since": "soon"})
    assert sorted(c["id"] for c in since["results"]) == sorted(
        [straggler.json()["id"], second.json()["id"]]
    )
    assert set(bad.json()["error"]["fields"]) == {"updated_since"}
