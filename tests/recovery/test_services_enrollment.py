"""Discharge and readmission: one-time codes issued before a discharge never work again,
and a repeated (double-clicked, parallel) status change is refused on the locked row."""

from __future__ import annotations

from typing import Any

import pytest

from backend.errors import ServiceError
from recovery.models import Enrollment, EnrollmentChange, EnrollmentStatus
from recovery.services.enrollment import (
    enrollment_code_issue,
    enrollment_code_redeem,
    enrollment_discharge,
    enrollment_readmit,
)
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def _enrollment() -> tuple[Any, Any]:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    return EnrollmentFactory(program=program, primary_counselor=counselor), counselor


def test_a_code_issued_before_discharge_does_not_redeem_after_readmission() -> None:
    enrollment, counselor = _enrollment()
    old_code, _ = enrollment_code_issue(enrollment=enrollment, issued_by=counselor)
    enrollment_discharge(enrollment=enrollment, actor=counselor, reason="left")
    enrollment_readmit(enrollment=enrollment, actor=counselor, reason="came back")

    with pytest.raises(ServiceError) as refused:
        enrollment_code_redeem(code=old_code)

    assert "code" in refused.value.fields
    new_code, _ = enrollment_code_issue(enrollment=enrollment, issued_by=counselor)
    assert enrollment_code_redeem(code=new_code) == enrollment.patient


def test_readmitting_twice_with_a_stale_copy_writes_one_history_row() -> None:
    enrollment, counselor = _enrollment()
    enrollment_discharge(enrollment=enrollment, actor=counselor)
    first = Enrollment.objects.get(pk=enrollment.pk)
    second = Enrollment.objects.get(pk=enrollment.pk)  # loaded before the first readmit
    enrollment_readmit(enrollment=first, actor=counselor)

    with pytest.raises(ServiceError) as refused:
        enrollment_readmit(enrollment=second, actor=counselor)

    assert refused.value.fields == {"status": ["The patient is not discharged."]}
    assert EnrollmentChange.objects.filter(field="status", new_value="active").count() == 1
    assert Enrollment.objects.get(pk=enrollment.pk).status == EnrollmentStatus.ACTIVE


def test_discharging_twice_with_a_stale_copy_writes_one_history_row() -> None:
    enrollment, counselor = _enrollment()
    first = Enrollment.objects.get(pk=enrollment.pk)
    second = Enrollment.objects.get(pk=enrollment.pk)
    enrollment_discharge(enrollment=first, actor=counselor, reason="done")

    with pytest.raises(ServiceError):
        enrollment_discharge(enrollment=second, actor=counselor, reason="again")

    history = EnrollmentChange.objects.filter(field="status")
    assert [(h.new_value, h.reason) for h in history] == [("discharged", "done")]


def test_a_stale_active_copy_gets_no_code_after_discharge() -> None:
    enrollment, counselor = _enrollment()
    stale = Enrollment.objects.get(pk=enrollment.pk)
    enrollment_discharge(enrollment=enrollment, actor=counselor)

    with pytest.raises(ServiceError):
        enrollment_code_issue(enrollment=stale, issued_by=counselor)
