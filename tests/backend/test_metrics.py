"""/metrics: protected, fed where things happen, and never labelled with a person."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from backend.schedule import run_job
from notifications.models import Notification
from recovery.models import Flag, FlagKind, FlagStatus, Severity
from recovery.services.checkins import checkin_submit
from recovery.services.flags import flag_acknowledge
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"
# Every label any metric may carry: bounded vocabularies, never an id or a name.
ALLOWED_LABELS = {"method", "route", "status", "channel", "outcome", "reason", "job", "kind"}
ALLOWED_LABELS |= {"severity", "le", "quantile"}


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                key = tuple(sorted(sample.labels.items()))
                samples.setdefault(sample.name, {})[key] = sample.value
        return samples

    return get


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_are_off_until_a_token_or_an_allow_list_is_set():
    assert Client().get("/metrics").status_code == 404


def test_a_scrape_needs_the_token(settings):
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    ok = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ok.status_code == 200
    assert b"iop_http_requests_total" in ok.content


def test_a_scrape_must_come_from_the_allow_list(settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="192.168.1.5").get("/metrics").status_code == 404
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200


def test_with_both_a_token_and_an_allow_list_both_are_needed(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1/32"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics", **auth).status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", **auth).status_code == 200


def test_metrics_are_not_in_the_api_schema(admin_client):
    schema = Client().get("/api/schema/").content
    assert b"/metrics" not in schema


def test_requests_are_counted_by_route_pattern_never_by_path(counselor_client, enrollment):
    route = "api/v1/patients/<int:pk>/"
    before = _value("iop_http_requests_total", method="GET", route=route, status="200")
    response = counselor_client.get(f"/api/v1/patients/{enrollment.id}/")
    assert response.status_code == 200
    after = _value("iop_http_requests_total", method="GET", route=route, status="200")
    assert after == before + 1
    assert not any(
        f"/{enrollment.id}/" in labels.get("route", "")
        for metric in REGISTRY.collect()
        for labels in (s.labels for s in metric.samples)
        if metric.name == "iop_http_requests"
    )


def test_the_outbox_lag_is_the_oldest_due_unsent_row_per_kind(scrape):
    user = PatientUserFactory()
    now = timezone.now()
    for minutes, key in ((5, "old"), (1, "new")):
        Notification.objects.create(
            recipient=user,
            kind="session_reminder",
            dedupe_key=key,
            title="t",
            body="b",
            due_at=now - timedelta(minutes=minutes),
            created_at=now,
        )
    Notification.objects.create(
        recipient=user,
        kind="session_reminder",
        dedupe_key="later",
        title="t",
        body="b",
        due_at=now + timedelta(hours=1),
        created_at=now,
    )
    for key, lease_left in (("stuck", -1), ("working", 60)):  # claimed by a dispatcher
        Notification.objects.create(
            recipient=user,
            kind="checkin_nudge",
            dedupe_key=key,
            title="t",
            body="b",
            state="sending",
            leased_until=now + timedelta(seconds=lease_left),
            due_at=now - timedelta(minutes=10 if key == "stuck" else 20),
            created_at=now,
        )
    lags = scrape()["iop_outbox_oldest_due_age_seconds"]
    assert 299 <= lags[(("kind", "session_reminder"),)] < 330
    # A row whose dispatcher's lease ran out is late; one still being sent is not counted.
    assert 599 <= lags[(("kind", "checkin_nudge"),)] < 630


def test_a_crisis_flag_past_its_escalation_time_is_counted(scrape, enrollment):
    assert scrape()["iop_crisis_flags_unacknowledged_past_escalation"][()] == 0
    now = timezone.now()
    Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.SELF_HARM,
        severity=Severity.CRISIS,
        window_key="w1",
        escalate_at=now - timedelta(minutes=1),
        created_at=now,
    )
    Flag.objects.create(  # not yet due to escalate
        enrollment=enrollment,
        kind=FlagKind.SELF_HARM,
        severity=Severity.CRISIS,
        window_key="w2",
        escalate_at=now + timedelta(minutes=5),
        created_at=now,
    )
    assert scrape()["iop_crisis_flags_unacknowledged_past_escalation"][()] == 1


def test_a_job_run_is_timed_and_its_last_success_exposed(scrape):
    before = _value("iop_job_runs_total", job="sweep_missed_checkins", outcome="ok")
    rows_before = _value("iop_job_rows_count", job="sweep_missed_checkins")
    run_job("sweep_missed_checkins")
    assert _value("iop_job_runs_total", job="sweep_missed_checkins", outcome="ok") == before + 1
    assert _value("iop_job_rows_count", job="sweep_missed_checkins") == rows_before + 1
    samples = scrape()
    last = samples["iop_job_last_success_timestamp_seconds"][(("job", "sweep_missed_checkins"),)]
    assert abs(last - timezone.now().timestamp()) < 60
    assert samples["iop_job_last_run_failed"][(("job", "sweep_missed_checkins"),)] == 0


def test_a_failing_job_is_counted_as_an_error(monkeypatch, scrape):
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("recovery.services.sweep.sweep_missed_checkins", broken)
    before = _value("iop_job_runs_total", job="sweep_missed_checkins", outcome="error")
    with pytest.raises(RuntimeError):
        run_job("sweep_missed_checkins")
    assert _value("iop_job_runs_total", job="sweep_missed_checkins", outcome="error") == before + 1
    assert scrape()["iop_job_last_run_failed"][(("job", "sweep_missed_checkins"),)] == 1


def test_flags_raised_and_time_to_first_acknowledgement(enrollment, counselor):
    raised = _value("iop_flags_raised_total", kind="self_harm")
    acked = _value("iop_flag_time_to_acknowledge_seconds_count", severity="crisis")
    checkin_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        data={
            "mood": 2,
            "craving": 1,
            "used_substance": False,
            "self_harm_thoughts": True,
            "device_time": timezone.now(),
            "device_timezone": enrollment.timezone,
        },
    )
    assert _value("iop_flags_raised_total", kind="self_harm") == raised + 1
    flag = Flag.objects.get(enrollment=enrollment, kind=FlagKind.SELF_HARM)
    flag_acknowledge(flag=flag, actor=counselor)
    assert flag.status == FlagStatus.ACKNOWLEDGED
    assert _value("iop_flag_time_to_acknowledge_seconds_count", severity="crisis") == acked + 1


def test_no_metric_carries_a_label_outside_the_bounded_vocabularies(scrape, counselor_client):
    counselor_client.get("/api/v1/patients/")
    run_job("dispatch_notifications")
    ours = {name: series for name, series in scrape().items() if name.startswith("iop_")}
    assert "iop_job_runs_total" in ours
    for name, series in ours.items():
        for labels in series:
            assert {key for key, _ in labels} <= ALLOWED_LABELS, name
            for key, value in labels:
                # Only a status code or a bucket bound is a number; an id never is a label.
                assert key in {"status", "le"} or not re.search(r"\d{2,}", value), (name, value)
