"""Retention: what a program keeps of a discharged patient, and for how long.

Each program's ProgramRetentionPolicy says how many years after discharge check-ins (and
urge presses) and notifications (to the patient, and to staff about the patient) are kept;
at least six. Past that, `retention_apply` deletes them, one patient per transaction, and
writes one audit entry per patient saying what went (counts, never content). The audit
trail itself is never deleted here: it is append-only (a PostgreSQL trigger refuses any
delete); entries past their own period are only counted, for the operators to archive.

Resumable by construction: every run looks for what is still there and past its period,
so a run that stopped half-way (a crash, Ctrl-C) is finished by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications.models import Notification
from recovery.models import (
    AuditEntry,
    CheckIn,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramRetentionPolicy,
    UrgeEvent,
)
from recovery.models.retention import MIN_YEARS
from recovery.services.audit import RequestMeta, audit_record


@dataclass(frozen=True)
class Expired:
    """One discharged patient's records past their period."""

    enrollment_id: int
    program_id: int
    checkins: int
    urges: int
    notifications: int

    @property
    def rows(self) -> int:
        return self.checkins + self.urges + self.notifications


@dataclass
class RetentionReport:
    dry_run: bool = False
    patients: int = 0
    checkins: int = 0
    urges: int = 0
    notifications: int = 0
    # Kept whatever happens: past their own period, for operators to archive by hand.
    audit_entries_past_period: int = 0
    items: list[Expired] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.checkins + self.urges + self.notifications


def retention_policy_for(program: Program) -> ProgramRetentionPolicy:
    found, _ = ProgramRetentionPolicy.objects.get_or_create(program=program)
    return found


def _policies() -> dict[int, ProgramRetentionPolicy]:
    return {p.program_id: p for p in ProgramRetentionPolicy.objects.all()}


def _checkins(enrollment: Enrollment) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(enrollment=enrollment)


def _urges(enrollment: Enrollment) -> QuerySet[UrgeEvent]:
    return UrgeEvent.objects.filter(enrollment=enrollment)


def _notifications(enrollment: Enrollment) -> QuerySet[Notification]:
    # The patient's own, and the staff's about the patient (flag notices carry the id).
    return Notification.objects.filter(
        Q(recipient_id=enrollment.patient_id) | Q(payload__enrollment_id=enrollment.id)
    )


def retention_candidates(*, now: datetime) -> QuerySet[Enrollment]:
    """Discharged long enough ago that something may have expired (no period is shorter
    than MIN_YEARS), oldest discharge first."""
    return Enrollment.objects.filter(
        status=EnrollmentStatus.DISCHARGED,
        discharged_at__isnull=False,
        discharged_at__lte=now - relativedelta(years=MIN_YEARS),
    ).order_by("discharged_at", "id")


def _expired(enrollment: Enrollment, policy: ProgramRetentionPolicy, *, now: datetime) -> Expired:
    discharged = enrollment.discharged_at
    assert discharged is not None

    def past(years: int) -> bool:
        return discharged + relativedelta(years=years) <= now

    checkins_past = past(policy.checkins_years)
    return Expired(
        enrollment_id=enrollment.id,
        program_id=enrollment.program_id,
        checkins=_checkins(enrollment).count() if checkins_past else 0,
        urges=_urges(enrollment).count() if checkins_past else 0,
        notifications=(
            _notifications(enrollment).count() if past(policy.notifications_years) else 0
        ),
    )


def _purge(enrollment: Enrollment, found: Expired) -> None:
    with transaction.atomic():
        if found.checkins or found.urges:
            _checkins(enrollment).delete()
            _urges(enrollment).delete()
        if found.notifications:
            _notifications(enrollment).delete()
        audit_record(
            actor=None,
            action=AuditEntry.Action.DELETE,
            resource=(
                f"retention:checkins={found.checkins},urges={found.urges},"
                f"notifications={found.notifications}"
            ),
            enrollment_ids=[enrollment.id],
            meta=RequestMeta(),
        )


def _audit_past_period(policies: dict[int, ProgramRetentionPolicy], *, now: datetime) -> int:
    default_years = ProgramRetentionPolicy().audit_years
    total = 0
    for program_id in Program.objects.values_list("id", flat=True):
        years = policies[program_id].audit_years if program_id in policies else default_years
        total += AuditEntry.objects.filter(
            program_id=program_id, at__lte=now - relativedelta(years=years)
        ).count()
    return total


def retention_apply(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    on_patient: Callable[[Expired | None], None] | None = None,
) -> RetentionReport:
    """Delete (or, with dry_run, only count) every discharged patient's records past their
    period. `on_patient` is called once per candidate looked at (None: nothing expired)."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    policies = _policies()
    for enrollment in _iter_candidates(now=now):
        policy = policies.get(enrollment.program_id) or ProgramRetentionPolicy()
        found = _expired(enrollment, policy, now=now)
        if found.rows:
            if not dry_run:
                _purge(enrollment, found)
            report.items.append(found)
            report.patients += 1
            report.checkins += found.checkins
            report.urges += found.urges
            report.notifications += found.notifications
        if on_patient is not None:
            on_patient(found if found.rows else None)
    report.audit_entries_past_period = _audit_past_period(policies, now=now)
    return report


def _iter_candidates(*, now: datetime) -> Iterator[Enrollment]:
    # Ids first: each patient is purged in a transaction of its own, and no cursor stays
    # open across them.
    ids = list(retention_candidates(now=now).values_list("id", flat=True))
    for start in range(0, len(ids), 500):
        chunk = Enrollment.objects.in_bulk(ids[start : start + 500])
        yield from (chunk[i] for i in ids[start : start + 500] if i in chunk)


def retention_apply_due() -> RetentionReport:
    """The periodic job (backend/schedule.py)."""
    return retention_apply()
