"""The alert rules of questionnaires, each one, and a program's own instrument and
thresholds: flags through the existing lifecycle, the crisis path for risk answers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.errors import NotAllowed, ServiceError
from notifications.models import Notification
from recovery.models import (
    AssignmentSource,
    Enrollment,
    Flag,
    FlagKind,
    QuestionnaireAssignment,
    Severity,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.services.questionnaire_schedules import (
    program_instrument_save,
    questionnaire_settings_set,
)
from recovery.services.questionnaires import SubmitResult, questionnaire_submit


def submit(enrollment: Enrollment, instrument: str, answers: dict[str, Any], **kw: Any) -> Any:
    return questionnaire_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        instrument=instrument,
        answers=answers,
        device_time=kw.get("device_time", timezone.now()),
        device_timezone="America/New_York",
    )


def phq9(total: int, item9: int = 0) -> dict[str, str]:
    answers, left = {}, total - item9
    for index in range(1, 9):
        answers[str(index)] = str(min(3, left))
        left -= min(3, left)
    assert left == 0
    answers["9"] = str(item9)
    return answers


def bam(use_days: int) -> dict[str, Any]:
    answers: dict[str, Any] = {str(i): "0" for i in (1, 2, 3, 8, 9, 10, 11, 12, 13, 15, 16, 17)}
    answers.update({"4": use_days, "5": 0, "6": 0, "14": "yes"})
    return answers


def kinds(enrollment: Enrollment) -> list[str]:
    return sorted(Flag.objects.filter(enrollment=enrollment).values_list("kind", flat=True))


@pytest.mark.django_db
def test_phq9_item_9_above_zero_is_a_crisis_on_the_self_harm_path(
    enrollment: Enrollment, supervisor: User
) -> None:
    result: SubmitResult = submit(enrollment, "phq9", phq9(total=4, item9=1))
    assert result.crisis is True
    flag = Flag.objects.get(enrollment=enrollment)
    assert (flag.kind, flag.severity) == (FlagKind.SELF_HARM, Severity.CRISIS)
    to_patient = Notification.objects.get(kind=NotificationKind.CRISIS_RESOURCES)
    assert to_patient.recipient_id == enrollment.patient_id
    assert any(r["phone"] == "988" for r in to_patient.payload["crisis_resources"])
    alerted = set(
        Notification.objects.filter(kind=NotificationKind.FLAG_RAISED).values_list(
            "recipient_id", flat=True
        )
    )
    assert alerted == {enrollment.primary_counselor_id, supervisor.id}
    # The screener follows a self-harm answer (the program's default schedule rule).
    follow_up = QuestionnaireAssignment.objects.get(enrollment=enrollment)
    assert (follow_up.instrument, follow_up.source) == ("cssrs_screen", AssignmentSource.RULE)


@pytest.mark.django_db
def test_phq9_item_9_at_zero_is_no_crisis(enrollment: Enrollment) -> None:
    result = submit(enrollment, "phq9", phq9(total=8))
    assert result.crisis is False
    assert kinds(enrollment) == []
    assert not Notification.objects.filter(kind=NotificationKind.CRISIS_RESOURCES).exists()


@pytest.mark.django_db
def test_a_positive_cssrs_screen_is_a_crisis_and_a_negative_one_is_not(
    enrollment: Enrollment,
) -> None:
    negative = submit(enrollment, "cssrs_screen", {"1": "no", "2": "no", "6": "no"})
    assert negative.crisis is False
    assert kinds(enrollment) == []
    positive = submit(enrollment, "cssrs_screen", {"1": "yes", "2": "no", "6": "no"})
    assert positive.crisis is True
    assert kinds(enrollment) == [FlagKind.SELF_HARM]
    # The screener itself asks for no second screener.
    assert not QuestionnaireAssignment.objects.exists()


@pytest.mark.django_db
def test_a_severe_total_is_a_warning_at_the_published_cut_off(enrollment: Enrollment) -> None:
    submit(enrollment, "phq9", phq9(total=19))
    assert kinds(enrollment) == []
    submit(enrollment, "phq9", phq9(total=20))
    flag = Flag.objects.get(enrollment=enrollment)
    assert (flag.kind, flag.severity) == (FlagKind.SEVERE_SCORE, Severity.WARNING)
    submit(enrollment, "gad7", {str(i): "2" for i in range(1, 8)})  # 14: moderate
    submit(enrollment, "gad7", {**{str(i): "2" for i in range(1, 8)}, "7": "3"})  # 15: severe
    assert kinds(enrollment) == [FlagKind.SEVERE_SCORE, FlagKind.SEVERE_SCORE]


@pytest.mark.django_db
def test_worsening_by_the_reliable_change_from_baseline_is_a_warning(
    enrollment: Enrollment,
) -> None:
    earlier = timezone.now() - timedelta(days=7)
    submit(enrollment, "phq9", phq9(total=6), device_time=earlier)
    submit(enrollment, "phq9", phq9(total=11))  # +5: within the noise
    assert kinds(enrollment) == []
    submit(enrollment, "phq9", phq9(total=12))  # +6: reliable
    assert kinds(enrollment) == [FlagKind.SCORE_WORSENING]


@pytest.mark.django_db
def test_bam_use_days_above_the_threshold_is_a_warning(enrollment: Enrollment) -> None:
    submit(enrollment, "bam", bam(use_days=0))
    assert kinds(enrollment) == []
    submit(enrollment, "bam", bam(use_days=2))
    assert kinds(enrollment) == [FlagKind.QUESTIONNAIRE_USE]


@pytest.mark.django_db
def test_a_program_sets_its_own_threshold(enrollment: Enrollment, supervisor: User) -> None:
    questionnaire_settings_set(
        program=enrollment.program, actor=supervisor, alert_thresholds={"bam": {"use": 3}}
    )
    submit(enrollment, "bam", bam(use_days=3))
    assert kinds(enrollment) == []
    submit(enrollment, "bam", bam(use_days=4))
    assert kinds(enrollment) == [FlagKind.QUESTIONNAIRE_USE]
    with pytest.raises(ServiceError) as refused:
        questionnaire_settings_set(
            program=enrollment.program, actor=supervisor, alert_thresholds={"bam": {"nope": 1}}
        )
    assert "alert_thresholds.bam.nope" in refused.value.fields
    with pytest.raises(NotAllowed):
        questionnaire_settings_set(
            program=enrollment.program,
            actor=enrollment.primary_counselor,
            alert_thresholds={"bam": {"use": 9}},
        )


@pytest.mark.django_db
def test_no_program_can_switch_off_the_crisis_path(
    enrollment: Enrollment, supervisor: User
) -> None:
    """PHQ-9 item 9 above 0 is a crisis whatever a supervisor would like: raising its
    threshold is refused, and a threshold stored before that rule is not obeyed."""
    from recovery.models import ProgramQuestionnaireSettings

    with pytest.raises(ServiceError) as refused:
        questionnaire_settings_set(
            program=enrollment.program, actor=supervisor, alert_thresholds={"phq9": {"crisis": 3}}
        )
    assert "alert_thresholds.phq9.crisis" in refused.value.fields
    ProgramQuestionnaireSettings.objects.update_or_create(
        program=enrollment.program, defaults={"alert_thresholds": {"phq9": {"crisis": 3}}}
    )
    result = submit(enrollment, "phq9", {str(i): "0" for i in range(1, 9)} | {"9": "1"})
    assert result.crisis
    assert FlagKind.SELF_HARM in kinds(enrollment)


def own_instrument(**overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "code": "sleep_check",
        "version": "1",
        "languages": ["en"],
        "title": {"en": "Sleep check"},
        "preamble": {"en": "Last week:"},
        "source": "Our program, 2026.",
        "terms": "Ours to use.",
        "option_sets": {
            "nights": [
                {"code": "none", "score": 0, "text": {"en": "No nights"}},
                {"code": "some", "score": 1, "text": {"en": "Some nights"}},
                {"code": "most", "score": 2, "text": {"en": "Most nights"}},
            ]
        },
        "items": [
            {"id": "a", "text": {"en": "Trouble falling asleep?"}, "options": "nights"},
            {"id": "b", "text": {"en": "Woke too early?"}, "options": "nights"},
        ],
        "scales": [
            {
                "id": "total",
                "label": "Total",
                "items": ["a", "b"],
                "method": "sum",
                "bands": [
                    {"min": 0, "max": 1, "label": "OK"},
                    {"min": 2, "max": 4, "label": "Poor"},
                ],
            }
        ],
        "total": "total",
        "alerts": [{"rule": "severe", "scale": "total", "above": 3}],
    }
    definition.update(overrides)
    return definition


@pytest.mark.django_db
def test_a_programs_own_instrument_is_validated_on_save_then_scored(
    enrollment: Enrollment, supervisor: User
) -> None:
    with pytest.raises(ServiceError) as refused:
        program_instrument_save(
            program=enrollment.program, actor=supervisor, definition=own_instrument(total="x")
        )
    assert refused.value.fields == {"definition.total": ["Must name one of the scales."]}
    with pytest.raises(ServiceError) as taken:
        program_instrument_save(
            program=enrollment.program, actor=supervisor, definition=own_instrument(code="phq9")
        )
    assert "definition.code" in taken.value.fields
    with pytest.raises(NotAllowed):
        program_instrument_save(
            program=enrollment.program,
            actor=enrollment.primary_counselor,
            definition=own_instrument(),
        )
    program_instrument_save(
        program=enrollment.program, actor=supervisor, definition=own_instrument()
    )
    result = submit(enrollment, "sleep_check", {"a": "most", "b": "most"})
    assert (result.response.total, result.response.band) == (4, "Poor")
    assert kinds(enrollment) == [FlagKind.SEVERE_SCORE]
    with pytest.raises(ServiceError):
        program_instrument_save(
            program=enrollment.program, actor=supervisor, definition=own_instrument()
        )


@pytest.mark.django_db
def test_a_patient_never_has_two_open_copies_of_one_questionnaire(enrollment: Enrollment) -> None:
    """Whoever makes it due second (a counselor beside the sweep, a second sweep) gets
    the open one back; the database refuses a second open copy outright."""
    from django.db import IntegrityError, transaction

    from recovery.models import QuestionnaireAssignment
    from recovery.services.questionnaire_schedules import questionnaire_assign

    now = timezone.now()
    first = questionnaire_assign(enrollment=enrollment, instrument="phq9", now=now)
    again = questionnaire_assign(
        enrollment=enrollment, instrument="phq9", now=now + timedelta(hours=1)
    )
    assert again.id == first.id
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionnaireAssignment.objects.create(
            enrollment=enrollment,
            instrument="phq9",
            due_at=now,
            closes_at=now + timedelta(days=3),
            source=first.source,
        )
    # Its window closed unseen by the sweep: missed, and a new copy opens.
    later = now + timedelta(days=30)
    fresh = questionnaire_assign(enrollment=enrollment, instrument="phq9", now=later)
    assert fresh.id != first.id
    first.refresh_from_db()
    assert first.status == "missed"
