"""Who may see which patient. Everything that reads patient data starts here.

A patient sees only their own enrollment; a counselor the patients on whose care team
they sit; a supervisor their program. Nobody crosses programs.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from recovery.models import Enrollment, Role, User


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    base = Enrollment.objects.select_related("program", "patient")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if user.role == Role.PATIENT:
        return base.filter(patient_id=user.id)
    if user.program_id is None:
        return base.none()
    if user.role == Role.SUPERVISOR:
        return base.filter(program_id=user.program_id)
    if user.role == Role.COUNSELOR:
        return base.filter(program_id=user.program_id, members__counselor_id=user.id)
    return base.none()


def enrollment_for_patient_user(user: User) -> Enrollment:
    """The enrollment of the patient who is asking; 404 for anyone else."""
    if user.role != Role.PATIENT:
        raise Http404
    enrollment = Enrollment.objects.select_related("program").filter(patient_id=user.id).first()
    if enrollment is None:
        raise Http404
    return enrollment


def visible_enrollment(user: User, enrollment_id: int) -> Enrollment:
    enrollment = enrollments_visible_to(user).filter(id=enrollment_id).first()
    if enrollment is None:
        raise Http404
    return enrollment


def requires_second_factor(user: User) -> bool:
    """Staff of a program that requires two-factor sign-in."""
    return bool(user.is_clinician and user.program and user.program.require_staff_2fa)


def assignable_staff(*, program_id: int | None) -> QuerySet[User]:
    """Who a flag of this program may be assigned to: its active counselors and
    supervisors."""
    if program_id is None:
        return User.objects.none()
    staff = User.objects.filter(
        program_id=program_id, role__in=[Role.COUNSELOR, Role.SUPERVISOR], is_active=True
    )
    return staff.order_by("last_name", "first_name", "id")
