"""Onboarding as clinics do it, and the patient's path along the continuum of care."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.errors import ServiceError
from notifications.services import preference_language_set, preference_set
from recovery.dates import enrollment_start_today
from recovery.models import (
    CareTeamMember,
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
    EnrollmentCode,
    EnrollmentStatus,
    LevelOfCare,
    Program,
    Role,
    Stage,
    User,
)
from recovery.selectors.access import is_program_staff
from recovery.services.plan import plan_mark_review_due
from recovery.services.schedules import checkin_schedule_set, schedule_stop

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 10
CODE_LIFETIME = timedelta(hours=getattr(settings, "ENROLLMENT_CODE_HOURS", 72))


def hash_code(raw: str) -> str:
    normalized = raw.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalized.encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _locked(enrollment: Enrollment) -> Enrollment:
    """The enrollment's row, locked until the transaction ends: status changes are decided
    on it, not on the caller's copy (a double click or a parallel call sees the first's
    result and is refused instead of writing the history twice)."""
    return Enrollment.objects.select_for_update().get(pk=enrollment.pk)


def _expire_unused_codes(enrollment: Enrollment, now: datetime) -> None:
    EnrollmentCode.objects.filter(
        enrollment=enrollment, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)


@transaction.atomic
def enrollment_code_issue(
    *, enrollment: Enrollment, issued_by: User | None
) -> tuple[str, datetime]:
    """A new one-time code; any earlier unused code of this patient stops working. A
    discharged patient gets none (readmit them first)."""
    if _locked(enrollment).status != EnrollmentStatus.ACTIVE:
        raise ServiceError({"status": ["The patient is discharged."]})
    now = timezone.now()
    _expire_unused_codes(enrollment, now)
    raw = _new_code()
    expires_at = now + CODE_LIFETIME
    EnrollmentCode.objects.create(
        enrollment=enrollment, code_hash=hash_code(raw), expires_at=expires_at, created_by=issued_by
    )
    return raw, expires_at


def enrollment_problems(
    *,
    program: Program | None = None,
    level_of_care: str | None = None,
    start_date: date | None = None,
    expected_end_date: date | None = None,
) -> dict[str, list[str]]:
    """The rules of an enrollment on whichever fields are given, by field: the API checks
    them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if (
        program is not None
        and level_of_care is not None
        and program.levels_of_care
        and level_of_care not in program.levels_of_care
    ):
        errors["level_of_care"] = ["This program does not offer that level."]
    if expected_end_date is not None and start_date is not None and expected_end_date <= start_date:
        errors["expected_end_date"] = ["Must be after the start date."]
    return errors


@transaction.atomic
def patient_enroll(
    *,
    counselor: User,
    first_name: str,
    last_name: str = "",
    timezone_name: str | None = None,
    level_of_care: str = LevelOfCare.INTENSIVE_OUTPATIENT,
    start_date: date | None = None,
    expected_end_date: date | None = None,
    has_medication: bool = False,
    care_team: list[User] | None = None,
) -> tuple[Enrollment, str, datetime]:
    """A counselor enrolls a patient; returns the enrollment and its one-time code."""
    program = counselor.program
    if program is None or not is_program_staff(counselor, program.id):
        raise ServiceError({"program": ["Only program staff can enroll patients."]})
    zone_name = timezone_name or program.timezone
    start = start_date or enrollment_start_today(program, zone_name)
    errors = enrollment_problems(
        program=program,
        level_of_care=level_of_care,
        start_date=start,
        expected_end_date=expected_end_date,
    )
    if errors:
        raise ServiceError(errors)
    patient = User.objects.create_user(
        username=f"patient-{secrets.token_hex(6)}",
        first_name=first_name,
        last_name=last_name,
        role=Role.PATIENT,
        program=program,
    )
    patient.set_unusable_password()
    patient.save(update_fields=["password"])
    enrollment = Enrollment.objects.create(
        patient=patient,
        program=program,
        primary_counselor=counselor,
        level_of_care=level_of_care,
        stage=Stage.ENGAGEMENT,
        timezone=zone_name,
        start_date=start,
        expected_end_date=expected_end_date or start + timedelta(weeks=12),
        has_medication=has_medication,
    )
    CareTeamMember.objects.create(enrollment=enrollment, counselor=counselor, is_primary=True)
    for member in care_team or []:
        if not is_program_staff(member, program.id):
            raise ServiceError({"care_team": ["Care team members are staff of this program."]})
        if member.id != counselor.id:
            CareTeamMember.objects.get_or_create(enrollment=enrollment, counselor=member)
    now = timezone.now()
    EnrollmentChange.objects.bulk_create(
        [
            EnrollmentChange(
                enrollment=enrollment,
                field="stage",
                new_value=enrollment.stage,
                changed_by=counselor,
                changed_at=now,
                reason="enrolled",
            ),
            EnrollmentChange(
                enrollment=enrollment,
                field="level_of_care",
                new_value=enrollment.level_of_care,
                changed_by=counselor,
                changed_at=now,
                reason="enrolled",
            ),
        ]
    )
    checkin_schedule_set(
        enrollment=enrollment,
        opens_at=program.checkin_opens_at,
        due_by=program.checkin_due_by,
        days_of_week=[1, 2, 3, 4, 5, 6, 7],
        grace_minutes=program.checkin_grace_minutes,
    )
    if program.quiet_start is not None and program.quiet_end is not None:
        preference_set(
            user_id=patient.id,
            quiet_start=program.quiet_start,
            quiet_end=program.quiet_end,
            timezone_name=zone_name,
        )
    code, expires_at = enrollment_code_issue(enrollment=enrollment, issued_by=counselor)
    return enrollment, code, expires_at


def enrollment_code_redeem(*, code: str, password: str | None = None) -> User:
    """Exchange a one-time code for the patient's account. A code works once."""
    now = timezone.now()
    with transaction.atomic():
        claimed = EnrollmentCode.objects.filter(
            code_hash=hash_code(code),
            used_at__isnull=True,
            expires_at__gt=now,
            enrollment__status=EnrollmentStatus.ACTIVE,
        ).update(used_at=now)
        if claimed != 1:
            raise ServiceError(
                {"code": ["This code is not valid. Ask your counselor for a new one."]}
            )
        enrollment = (
            EnrollmentCode.objects.select_related("enrollment__patient")
            .get(code_hash=hash_code(code))
            .enrollment
        )
        patient = enrollment.patient
        if password:
            patient.set_password(password)
            patient.save(update_fields=["password"])
    return patient


@transaction.atomic
def enrollment_change(
    *,
    enrollment: Enrollment,
    actor: User,
    stage: str | None = None,
    level_of_care: str | None = None,
    reason: str = "",
) -> Enrollment:
    """Move a patient to another stage or step up or down the continuum, with history."""
    now = timezone.now()
    changes: list[EnrollmentChange] = []
    for field_name, value in (("stage", stage), ("level_of_care", level_of_care)):
        if value is None or getattr(enrollment, field_name) == value:
            continue
        if field_name == "level_of_care":
            errors = enrollment_problems(program=enrollment.program, level_of_care=value)
            if errors:
                raise ServiceError(errors)
        changes.append(
            EnrollmentChange(
                enrollment=enrollment,
                field=field_name,
                old_value=getattr(enrollment, field_name),
                new_value=value,
                reason=reason,
                changed_by=actor,
                changed_at=now,
            )
        )
        setattr(enrollment, field_name, value)
    if changes:
        enrollment.save(update_fields=["stage", "level_of_care"])
        EnrollmentChange.objects.bulk_create(changes)
        if any(c.field == "stage" for c in changes):
            plan_mark_review_due(enrollment=enrollment, now=now)
    return enrollment


def _status_set(
    enrollment: Enrollment, status: str, *, actor: User, reason: str, now: datetime
) -> None:
    """Discharged or active again, with the care path history saying who, when and why."""
    EnrollmentChange.objects.create(
        enrollment=enrollment,
        field="status",
        old_value=enrollment.status,
        new_value=status,
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    enrollment.status = status
    enrollment.discharged_at = now if status == EnrollmentStatus.DISCHARGED else None
    enrollment.save(update_fields=["status", "discharged_at"])


@transaction.atomic
def enrollment_discharge(*, enrollment: Enrollment, actor: User, reason: str = "") -> Enrollment:
    """Discharge: windows stop, and every unused one-time code stops working for good (a
    readmission does not bring them back)."""
    enrollment.status = _locked(enrollment).status
    if enrollment.status == EnrollmentStatus.DISCHARGED:
        raise ServiceError({"status": ["The patient is already discharged."]})
    now = timezone.now()
    _expire_unused_codes(enrollment, now)
    _status_set(enrollment, EnrollmentStatus.DISCHARGED, actor=actor, reason=reason, now=now)
    schedule_stop(enrollment=enrollment)
    return enrollment


@transaction.atomic
def enrollment_readmit(*, enrollment: Enrollment, actor: User, reason: str = "") -> Enrollment:
    """Take a discharged patient back: active again, check-in windows planned again from
    their schedule, the care path history says who and why. The app needs a new one-time
    code (`enrollment_code_issue`): codes issued before the discharge stay expired."""
    enrollment.status = _locked(enrollment).status
    if enrollment.status != EnrollmentStatus.DISCHARGED:
        raise ServiceError({"status": ["The patient is not discharged."]})
    now = timezone.now()
    # Codes expired at discharge already; this also catches any issued before this lock.
    _expire_unused_codes(enrollment, now)
    _status_set(enrollment, EnrollmentStatus.ACTIVE, actor=actor, reason=reason, now=now)
    schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
    if schedule is not None:
        checkin_schedule_set(
            enrollment=enrollment,
            opens_at=schedule.opens_at,
            due_by=schedule.due_by,
            days_of_week=schedule.days_of_week,
            grace_minutes=schedule.grace_minutes,
            paused=schedule.paused,
            paused_reason=schedule.paused_reason,
        )
    return enrollment


@transaction.atomic
def patient_language_set(*, enrollment: Enrollment, language: str) -> Enrollment:
    """The patient's language: what the API answers them in, their pushes, questionnaires."""
    enrollment.language = language
    enrollment.save(update_fields=["language"])
    preference_language_set(user_id=enrollment.patient_id, language=language)
    return enrollment


@transaction.atomic
def enrollment_update_fields(*, enrollment: Enrollment, data: dict[str, Any]) -> Enrollment:
    errors = enrollment_problems(
        start_date=enrollment.start_date, expected_end_date=data.get("expected_end_date")
    )
    if errors:
        raise ServiceError(errors)
    moved_zone = "timezone" in data and data["timezone"] != enrollment.timezone
    for key in ("expected_end_date", "timezone", "has_medication"):
        if key in data:
            setattr(enrollment, key, data[key])
    enrollment.save()
    schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
    if moved_zone and schedule is not None:
        # Windows are local wall time: a new zone means new instants and a new nudge.
        checkin_schedule_set(
            enrollment=enrollment,
            opens_at=schedule.opens_at,
            due_by=schedule.due_by,
            days_of_week=schedule.days_of_week,
            grace_minutes=schedule.grace_minutes,
            paused=schedule.paused,
            paused_reason=schedule.paused_reason,
        )
    return enrollment
