"""Whether a patient's app is silent: the one rule, shared by the caseload and the nudge.

notifications/ records when each app was last heard from (`AppPresence`); the program
says how many days without a word make a silence (`Program.app_silent_after_days`).
A patient never heard from has no app to reach yet: never silent, the caseload says
"never" instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import MinValueValidator
from django.db.models import F, Q

from recovery.models import Enrollment, EnrollmentStatus, Program, User


def app_silent_since(
    *, last_heard_at: datetime | None, silent_after_days: int, now: datetime
) -> datetime | None:
    """The start of the app's silence (when it was last heard from), if it has lasted at
    least the program's number of days; else None."""
    if last_heard_at is None or now - last_heard_at < timedelta(days=silent_after_days):
        return None
    return last_heard_at


def last_heard_at(patient: User) -> datetime | None:
    """From a patient loaded with `select_related("app_presence")` (no query then)."""
    try:
        return patient.app_presence.last_heard_at
    except ObjectDoesNotExist:
        return None


def _fewest_days() -> int:
    """The shortest silence any program may set (the field's own minimum)."""
    field = Program._meta.get_field("app_silent_after_days")
    return min(int(v.limit_value) for v in field.validators if isinstance(v, MinValueValidator))


@dataclass(frozen=True)
class Silence:
    patient_id: int
    since: datetime


def silences_to_nudge(*, now: datetime) -> list[Silence]:
    """Active patients whose app is silent and whose silence has not been nudged yet. Reads
    only apps quiet for at least the shortest silence any program allows, then applies
    each program's own number of days."""
    candidates = (
        Enrollment.objects.filter(
            status=EnrollmentStatus.ACTIVE,
            patient__app_presence__last_heard_at__lte=now - timedelta(days=_fewest_days()),
        )
        .filter(
            Q(patient__app_presence__nudged_for__isnull=True)
            | ~Q(patient__app_presence__nudged_for=F("patient__app_presence__last_heard_at"))
        )
        .values_list(
            "patient_id", "patient__app_presence__last_heard_at", "program__app_silent_after_days"
        )
        .order_by("patient_id")
    )
    found = []
    for patient_id, heard, days in candidates:
        since = app_silent_since(last_heard_at=heard, silent_after_days=days, now=now)
        if since is not None:
            found.append(Silence(patient_id=patient_id, since=since))
    return found
