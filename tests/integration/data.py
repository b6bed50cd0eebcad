"""Rows for the integration tests, written in bulk through the ORM of the test's database.

The end-to-end test goes through the HTTP API instead; these builders are for the tests
that need a thousand of something, where only the rows' state matters.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from django.utils import timezone

from notifications.models import Device, Notification
from recovery.models import (
    CareTeamMember,
    CheckInSchedule,
    Enrollment,
    Program,
    Role,
    User,
)
from recovery.notification_kinds import NotificationKind

STAFF_PASSWORD = "integration-staff-password-2026"


def program_create(*, reminder_offsets_minutes: list[int] | None = None) -> Program:
    return Program.objects.create(
        name=f"Integration IOP {uuid.uuid4().hex[:6]}",
        timezone="UTC",
        levels_of_care=["1", "2.1", "2.5"],
        reminder_offsets_minutes=reminder_offsets_minutes or [24 * 60, 60],
    )


def counselor_create(program: Program, *, username: str | None = None) -> User:
    user = User(
        username=username or f"counselor-{uuid.uuid4().hex[:8]}",
        first_name="Casey",
        role=Role.COUNSELOR,
        program=program,
    )
    user.set_password(STAFF_PASSWORD)
    user.save()
    return user


def patients_create(
    program: Program, counselor: User, count: int, *, devices_each: int = 0
) -> list[Enrollment]:
    """`count` enrolled patients on `counselor`'s caseload, each with `devices_each` push
    tokens named `tok-<tag>-<patient>-<device>`."""
    tag = uuid.uuid4().hex[:6]
    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(
                username=f"patient-{tag}-{index}",
                first_name="Pat",
                role=Role.PATIENT,
                program=program,
                password="!",  # unusable: patients sign in with enrollment codes
            )
            for index in range(count)
        ]
    )
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                patient=user,
                program=program,
                primary_counselor=counselor,
                timezone="UTC",
                start_date=now.date(),
            )
            for user in users
        ]
    )
    CareTeamMember.objects.bulk_create(
        [
            CareTeamMember(enrollment=enrollment, counselor=counselor, is_primary=True)
            for enrollment in enrollments
        ]
    )
    Device.objects.bulk_create(
        [
            Device(
                user=user,
                address=f"tok-{tag}-{index}-{number}",
                address_kind="token",
                platform="android",
                last_seen_at=now,
            )
            for index, user in enumerate(users)
            for number in range(devices_each)
        ]
    )
    return enrollments


def reminders_create(
    enrollments: list[Enrollment],
    *,
    each: int,
    due_at: datetime | None = None,
    expires_in: timedelta = timedelta(hours=1),
) -> list[int]:
    """`each` session reminders per patient, due at `due_at` (now by default), expiring
    `expires_in` later (when the session starts: the reminder's offset)."""
    now = timezone.now()
    due = due_at or now
    tag = uuid.uuid4().hex[:6]
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=enrollment.patient_id,
                kind=NotificationKind.SESSION_REMINDER,
                dedupe_key=f"it-reminder:{tag}:{enrollment.id}:{number}",
                topic=f"it-session:{tag}:{number}",
                title="Reminder: Process group",
                body="Starts in 1 hour.",
                payload={"offset_minutes": round(expires_in.total_seconds() / 60)},
                due_at=due,
                expires_at=due + expires_in,
                created_at=now,
            )
            for enrollment in enrollments
            for number in range(each)
        ]
    )
    return [row.id for row in rows]


def schedules_create_due(enrollments: list[Enrollment], *, due_at: datetime) -> None:
    """Check-in schedules whose current window closed at `due_at` without a check-in."""
    window_day = (due_at - timedelta(hours=1)).date()
    CheckInSchedule.objects.bulk_create(
        [
            CheckInSchedule(
                enrollment=enrollment,
                opens_at=time(0, 0),
                due_by=time(23, 0),
                days_of_week=[1, 2, 3, 4, 5, 6, 7],
                grace_minutes=0,
                next_due_at=due_at,
                next_window_date=window_day,
            )
            for enrollment in enrollments
        ]
    )
