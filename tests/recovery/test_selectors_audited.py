"""Audited querysets note the patients of exactly the rows they yield, in the one query
that reads them, however they are evaluated (`recovery.selectors.audited`)."""

from __future__ import annotations

from itertools import islice
from typing import Any

import pytest
from django.utils import timezone

from recovery.models import Flag, User
from recovery.selectors.access import audited, flags_visible_to
from recovery.services.audit import audit_scope
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flags(program: Any, counselor: User) -> list[Flag]:
    made = []
    for window in ("a", "b", "c"):
        enrollment = EnrollmentFactory(program=program, primary_counselor=counselor)
        made.append(
            Flag.objects.create(
                enrollment=enrollment,
                kind="high_craving",
                severity=2,
                window_key=window,
                created_at=timezone.now(),
            )
        )
    return made


def test_iterator_notes_the_rows_it_yields(counselor: User, flags: list[Flag]) -> None:
    with audit_scope() as pending:
        read = list(islice(flags_visible_to(counselor).order_by("id").iterator(), 2))
    assert [f.id for f in read] == [flags[0].id, flags[1].id]
    assert pending.patients_of(counselor.pk) == {flags[0].enrollment_id, flags[1].enrollment_id}


@pytest.mark.parametrize(
    "shape",
    [
        lambda qs: qs,
        lambda qs: qs.values("window_key"),
        lambda qs: qs.values_list("window_key"),
        lambda qs: qs.values_list("window_key", flat=True),
        lambda qs: qs.values(),
    ],
    ids=["models", "values", "values_list", "flat", "all_values"],
)
def test_a_patient_further_away_is_read_by_the_same_query(
    counselor: User, flags: list[Flag], shape: Any, django_assert_num_queries: Any
) -> None:
    """A `__` path, or values rows: one query, the rows unchanged, only the page noted."""
    qs = audited(Flag.objects.order_by("window_key"), counselor, via="enrollment__id")
    page = shape(qs)[1:3]
    plain = list(shape(Flag.objects.order_by("window_key"))[1:3])
    with audit_scope() as pending, django_assert_num_queries(1):
        rows = list(page)
    assert rows == plain
    assert pending.patients_of(counselor.pk) == {flags[1].enrollment_id, flags[2].enrollment_id}
    for row in rows:
        assert "audited_enrollment_id" not in getattr(
            row, "__dict__", row if isinstance(row, dict) else {}
        )


def test_an_iterator_over_values_rows_notes_them_too(counselor: User, flags: list[Flag]) -> None:
    qs = audited(Flag.objects.order_by("id"), counselor, via="enrollment__id")
    with audit_scope() as pending:
        keys = list(qs.values_list("window_key", flat=True).iterator())
    assert keys == ["a", "b", "c"]
    assert pending.patients_of(counselor.pk) == {f.enrollment_id for f in flags}
