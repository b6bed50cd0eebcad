"""Who may see or do what. Every such question is answered here, once, for the API, the
dashboard and the websocket consumer alike.

* Program staff are the active counselors and supervisors of a program
  (`is_program_staff`); a deactivated account reaches nothing anywhere.
* A patient sees only their own enrollment; a counselor the patients on whose care team
  they sit; a supervisor their program. Nobody crosses programs.
* What a patient and their care team write together (the conversation with the care team,
  the safety plan) is read and written by the patient, the counselors on their care team
  and the program's supervisors (`shared_record_enrollment`); anyone else gets a 404, as
  for every other record of the patient.
* Sessions and series are the program's schedule: program staff see them, but the
  patients on them only as far as their reach goes, except that a counselor takes the
  whole roll of a session they facilitate. A counselor books only patients in their
  reach; changes or cancels only sessions and series they facilitate, or individual ones
  with at least one patient and every patient in their reach; hands on the facilitator
  only of what they facilitate; takes off the roll patients out of their reach only as
  its facilitator. A supervisor does all of it for the program.

The selectors that hand patient records to a staff member also note, for the audit
trail, which patients those records belong to (`recovery.services.audit.audit_note`):
one patient looked up by id, or the patients of the rows a list actually yields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from recovery.models import (
    Attendance,
    Enrollment,
    Flag,
    Role,
    SessionKind,
    SessionSeries,
    TreatmentSession,
    User,
)
from recovery.selectors.audited import noting_reads
from recovery.services.audit import audit_note

# Patients' enrollment ids as a list or as a subquery (`enrollments_visible_to(...).values("id")`):
# the selectors that take them only filter with `__in`.
EnrollmentIds = Collection[int] | QuerySet[Any, Any]

STAFF_ROLES = (Role.COUNSELOR, Role.SUPERVISOR)
M = TypeVar("M", bound=models.Model)


# --- who is staff ------------------------------------------------------------------------


def is_program_staff(user: Any, program_id: int | None = None) -> bool:
    """An active counselor or supervisor of a program (of `program_id`, when given)."""
    staff_program = getattr(user, "program_id", None)
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) in STAFF_ROLES
        and staff_program is not None
        and (program_id is None or staff_program == program_id)
    )


def is_program_supervisor(user: Any, program_id: int | None = None) -> bool:
    return is_program_staff(user, program_id) and user.role == Role.SUPERVISOR


def has_staff_role(user: Any) -> bool:
    """A counselor or supervisor account, active or not: whose reads of patient records
    the audit trail records (a deactivated one reads nothing, so records nothing)."""
    return getattr(user, "role", None) in STAFF_ROLES


def may_read_audit_trail(user: Any) -> bool:
    """A supervisor reads their own program's trail (`audit_trail_for_supervisor`)."""
    return is_program_supervisor(user)


def may_change_program_settings(user: Any, program_id: int | None = None) -> bool:
    """A program's thresholds and settings: its supervisors change them, its staff read."""
    return is_program_supervisor(user, program_id)


def may_set_up_second_factor(user: Any) -> bool:
    """Two-factor sign-in is for program staff (patients sign in with their own codes)."""
    return is_program_staff(user)


# What of a medication each may change: its staff everything but the start (which
# anchors the adherence history), the patient only their own reminder.
MEDICATION_STAFF_FIELDS = ("name", "category", "dose", "prescriber", "end_date", "reminder_time")
MEDICATION_PATIENT_FIELDS = ("reminder_time",)


def medication_fields_for(user: Any) -> tuple[str, ...]:
    return MEDICATION_STAFF_FIELDS if is_program_staff(user) else MEDICATION_PATIENT_FIELDS


def assignable_staff(*, program_id: int | None) -> QuerySet[User]:
    """Program staff as rows: who a flag may be assigned to, who may sit on a care team or
    facilitate a session."""
    if program_id is None:
        return User.objects.none()
    staff = User.objects.filter(program_id=program_id, role__in=STAFF_ROLES, is_active=True)
    return staff.order_by("last_name", "first_name", "id")


def may_manage_staff(user: Any, program_id: int | None = None) -> bool:
    """Inviting, deactivating and reactivating staff, and editing care teams: the
    program's supervisors (a counselor reads their care teams, never changes them)."""
    return is_program_supervisor(user, program_id)


def staff_visible_to(user: Any) -> QuerySet[User]:
    """Staff accounts (active or not) a supervisor manages: their program's; nobody's for
    anyone else, so an account elsewhere answers 404."""
    if not may_manage_staff(user):
        return User.objects.none()
    return User.objects.filter(program_id=user.program_id, role__in=STAFF_ROLES)


def requires_second_factor(user: User) -> bool:
    """Staff of a program that requires two-factor sign-in."""
    return bool(is_program_staff(user) and user.program and user.program.require_staff_2fa)


# --- which patients ----------------------------------------------------------------------


def _reach(user: Any) -> QuerySet[Enrollment]:
    """The enrollments in the user's reach, unaudited: for subqueries only."""
    base = Enrollment.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return base.none()
    if user.role == Role.PATIENT:
        return base.filter(patient_id=user.id)
    if not is_program_staff(user):
        return base.none()
    if user.role == Role.SUPERVISOR:
        return base.filter(program_id=user.program_id)
    return base.filter(program_id=user.program_id, members__counselor_id=user.id)


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    return audited(_reach(user).select_related("program", "patient"), user, via="id")


def enrollment_for_patient_user(user: User) -> Enrollment:
    """The enrollment of the patient who is asking; 404 for anyone else."""
    if user.role != Role.PATIENT or not user.is_active:
        raise Http404
    enrollment: Enrollment | None
    if User.enrollment.is_cached(user):  # read with the user (AUTH_USER_SELECT_RELATED)
        enrollment = getattr(user, "enrollment", None)  # None: cached as absent
    else:
        enrollment = Enrollment.objects.select_related("program").filter(patient_id=user.id).first()
    if enrollment is None:
        raise Http404
    return enrollment


def visible_enrollment(user: User, enrollment_id: int) -> Enrollment:
    enrollment = enrollments_visible_to(user).filter(id=enrollment_id).first()
    if enrollment is None:
        raise Http404
    return enrollment


def records_visible_to(user: User, records: QuerySet[M], *, via: str = "enrollment") -> QuerySet[M]:
    """`records` (a queryset of patient records reaching their enrollment through `via`)
    narrowed to the user's reach; staff reads of the rows are noted for the audit trail."""
    narrowed = records.filter(**{f"{via}__in": _reach(user)})
    return audited(narrowed, user, via=f"{via}_id")


def flags_visible_to(user: User) -> QuerySet[Flag]:
    return records_visible_to(user, Flag.objects.all())


def may_act_on_flag(user: Any, flag: Flag) -> bool:
    """Acknowledge, assign, resolve or reopen: whoever sees the flag (`flags_visible_to`),
    that is active staff of its program with its patient in reach."""
    return is_program_staff(user) and _reach(user).filter(id=flag.enrollment_id).exists()


# --- what the patient and the care team write together ----------------------------------


def shared_record_enrollment(user: User, enrollment_id: int | None = None) -> Enrollment:
    """The patient whose conversation with the care team, or safety plan, `user` reads and
    writes: a patient their own (`enrollment_id` None or their own), staff a patient in
    their reach (the care team, the program's supervisors). 404 for everyone else."""
    if enrollment_id is None:
        return enrollment_for_patient_user(user)
    return visible_enrollment(user, enrollment_id)


def conversation_enrollments_for_staff(user: User) -> QuerySet[Enrollment]:
    """The patients whose conversations a staff member reads: their reach (none for a
    patient, who has the one conversation of their own)."""
    if not is_program_staff(user):
        return Enrollment.objects.none()
    return enrollments_visible_to(user)


# --- sessions and series -----------------------------------------------------------------


def sessions_visible_to(user: User) -> QuerySet[TreatmentSession]:
    """Patients: the sessions they are on. Staff: the program's schedule."""
    if getattr(user, "role", None) == Role.PATIENT and user.is_active:
        return TreatmentSession.objects.filter(patients__patient_id=user.id)
    if not is_program_staff(user) or user.program_id is None:
        return TreatmentSession.objects.none()
    return TreatmentSession.objects.filter(program_id=user.program_id)


def series_visible_to(user: User) -> QuerySet[SessionSeries]:
    if not is_program_staff(user) or user.program_id is None:
        return SessionSeries.objects.none()
    return SessionSeries.objects.filter(program_id=user.program_id)


# The kinds that are about one patient (with their family, at most): the sessions a
# counselor books for, and may change or cancel for, the patients on their care teams.
# Group kinds belong to their facilitator and the program's supervisors.
INDIVIDUAL_KINDS = (
    SessionKind.INDIVIDUAL_THERAPY,
    SessionKind.FAMILY_COUNSELING,
    SessionKind.DRUG_SCREEN,
    SessionKind.MEDICATION_APPOINTMENT,
)


def _within_reach(
    user: User, qs: QuerySet[M], through: type[models.Model], owner: str
) -> QuerySet[M]:
    """Of `qs` (sessions or series), those a counselor facilitates, or the individual ones
    with at least one patient and every patient in their reach (a session with nobody on
    it is nobody's to take over); a supervisor's program, all of them."""
    if is_program_supervisor(user):
        return qs
    on_it = through._default_manager.filter(**{owner: OuterRef("pk")})
    reach = _reach(user).values("id")
    inside = on_it.filter(enrollment_id__in=reach)
    outside = on_it.exclude(enrollment_id__in=reach)
    return qs.filter(
        Q(facilitator_id=user.id)
        | (Q(kind__in=INDIVIDUAL_KINDS) & Exists(inside) & ~Exists(outside))
    )


def sessions_writable_by(user: User) -> QuerySet[TreatmentSession]:
    """Sessions this staff member may change or cancel."""
    if not is_program_staff(user):
        return TreatmentSession.objects.none()
    return _within_reach(
        user, sessions_visible_to(user), TreatmentSession.patients.through, "treatmentsession_id"
    )


def series_writable_by(user: User) -> QuerySet[SessionSeries]:
    """Series this staff member may cancel or move the rest of (as for sessions)."""
    if not is_program_staff(user):
        return SessionSeries.objects.none()
    return _within_reach(
        user, series_visible_to(user), SessionSeries.patients.through, "sessionseries_id"
    )


def may_change_facilitator(user: User, item: TreatmentSession | SessionSeries) -> bool:
    """Who facilitates is the supervisors' to decide, or the current facilitator's to hand
    on (whoever creates a session or series names its first facilitator)."""
    return is_program_supervisor(user, item.program_id) or (
        is_program_staff(user, item.program_id) and item.facilitator_id == user.id
    )


def roll_change_problems(
    user: User, item: TreatmentSession | SessionSeries, new_ids: Iterable[int]
) -> dict[str, list[str]]:
    """A change of the patients on a session (or series) is a change to the set: patients
    already on it may stay whoever sends them back, patients added must be bookable by the
    caller (`PatientsField` checks that), and a patient out of the caller's reach is taken
    off only by the facilitator or a supervisor, who own the whole roll."""
    if _takes_whole_roll(user, item.program_id, item.facilitator_id):
        return {}
    current = set(item.patients.values_list("id", flat=True))
    removed = current - set(new_ids)
    if not removed:
        return {}
    beyond = removed - set(_reach(user).filter(id__in=removed).values_list("id", flat=True))
    if beyond:
        return {
            "patients": [
                "Only the facilitator or a supervisor takes off patients you do not care for."
            ]
        }
    return {}


def _takes_whole_roll(user: User, program_id: int, facilitator_id: int | None) -> bool:
    return is_program_supervisor(user, program_id) or (
        is_program_staff(user, program_id) and facilitator_id == user.id
    )


def session_roll(user: User, session: TreatmentSession) -> QuerySet[Enrollment]:
    """The patients of a session whose attendance this staff member reads and records:
    the whole roll for its facilitator and the program's supervisors, else those in reach."""
    roll = session.patients.all()
    if not _takes_whole_roll(user, session.program_id, session.facilitator_id):
        roll = roll.filter(id__in=_reach(user).values("id"))
    return audited(roll, user, via="id")


def roll_patient(user: User, session: TreatmentSession, enrollment_id: int) -> Enrollment:
    """The patient whose attendance is being recorded: on the caller's roll of the session;
    404 when out of the caller's reach (a patient in reach but not on the session is the
    service's to refuse)."""
    enrollment = session_roll(user, session).filter(id=enrollment_id).first()
    return enrollment if enrollment is not None else visible_enrollment(user, enrollment_id)


def session_attendance(user: User, session: TreatmentSession) -> QuerySet[Attendance]:
    """Attendance of a session, for the patients of `session_roll`."""
    records = session.attendance.all()
    if not _takes_whole_roll(user, session.program_id, session.facilitator_id):
        records = records.filter(enrollment_id__in=_reach(user).values("id"))
    return audited(records, user, via="enrollment_id")


def bookable_enrollments(
    user: User, item: TreatmentSession | SessionSeries | None = None
) -> QuerySet[Enrollment]:
    """Patients a staff member may name on a session or series: those in their reach, and
    those already on `item` (sending back the roll one just read changes nothing)."""
    if not is_program_staff(user):
        return Enrollment.objects.none()
    if item is None or item.pk is None:
        return enrollments_visible_to(user)
    mine = Q(id__in=_reach(user).values("id")) | Q(id__in=item.patients.values("id"))
    return audited(
        Enrollment.objects.filter(mine).select_related("program", "patient"), user, via="id"
    )


def patients_shown(
    user: User, items: Sequence[TreatmentSession] | Sequence[SessionSeries]
) -> dict[int, list[int]]:
    """Per session (or series), the ids of the patients on it this user may see, noted for
    the audit trail: all of them for its facilitator and the supervisors, else those in
    reach. One query for the roll, one for the reach."""
    if not items:
        return {}
    is_session = isinstance(items[0], TreatmentSession)
    through = (TreatmentSession if is_session else SessionSeries).patients.through
    owner = "treatmentsession_id" if is_session else "sessionseries_id"
    on: dict[int, list[int]] = defaultdict(list)
    for owner_id, enrollment_id in (
        through.objects.filter(**{f"{owner}__in": [i.pk for i in items]})
        .order_by("enrollment_id")
        .values_list(owner, "enrollment_id")
    ):
        on[owner_id].append(enrollment_id)
    everyone = {e for ids in on.values() for e in ids}
    reach = set(_reach(user).filter(id__in=everyone).values_list("id", flat=True))
    shown = {
        item.pk: [
            e
            for e in on.get(item.pk, [])
            if e in reach or _takes_whole_roll(user, item.program_id, item.facilitator_id)
        ]
        for item in items
    }
    if has_staff_role(user):
        audit_note(actor=user, enrollment_ids={e for ids in shown.values() for e in ids})
    return shown


# --- noting staff reads --------------------------------------------------------------------


def audited(qs: QuerySet[M], user: Any, *, via: str) -> QuerySet[M]:
    """`qs`, noting for the audit trail the patients (`via`: the path from a row to its
    enrollment id) of the rows it yields to a staff member (`recovery.selectors.audited`).
    Patients' own reads are not noted, and neither are subqueries (they yield no rows)."""
    if not has_staff_role(user):
        return qs
    return noting_reads(qs, user, via=via)
