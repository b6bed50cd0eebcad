"""Querysets that note, for the audit trail, the patients of the rows they yield.

`noting_reads(qs, actor, via=...)` marks a queryset; however it is then evaluated (a list,
a loop, a slice, `.iterator()`, `values()` or `values_list()` rows), each row it yields
notes its patient (`recovery.services.audit.audit_note`). Counting, `exists()` and
subqueries yield no rows and note nothing. Whose reads are noted is decided by the caller,
`recovery.selectors.access.audited`.

The patient of a row is read from the row itself when it is a model instance with the
enrollment id as a column (`via` "id" or "enrollment_id"). Otherwise (values rows, or a
patient further away such as `plan__enrollment_id`) the enrollment id is fetched by the
same query as an extra column and taken off the row before it is handed on: one query,
and the very rows that were read (a second query could differ, as an unordered page may
on PostgreSQL). Only where an extra column would change the rows themselves (values rows
that are grouped or distinct, or a union) are the patients asked for by a second query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar, cast

from django.db import models
from django.db.models import F, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
)

from recovery.services.audit import audit_note

M = TypeVar("M", bound=models.Model)
PATIENT_COLUMN = "audited_enrollment_id"


def _iterable_noting(base: type[Any]) -> type[Any]:
    """`base` (how a queryset turns database rows into what it yields), noting the patient
    of each row it yields; rows are noted one by one, so a loop that stops early notes
    only what it read."""

    class Noting(base):
        def __iter__(self) -> Iterator[Any]:
            qs = self.queryset
            actor, via = qs._audit_actor, qs._audit_via
            if base is ModelIterable and "__" not in via:
                for row in base(qs, self.chunked_fetch, self.chunk_size):
                    _note(actor, getattr(row, via))
                    yield row
                return
            query = qs.query
            if (
                base not in _STRIPS
                or query.combinator
                or (base is not ModelIterable and (query.distinct or query.group_by is not None))
            ):
                yield from _asking_again(base, qs, self.chunked_fetch, self.chunk_size)
                return
            inner = qs._chain()
            inner._audit_actor = None
            inner.query.add_annotation(F(via), PATIENT_COLUMN)
            fetch = ValuesListIterable if base is FlatValuesListIterable else base
            for row in fetch(inner, self.chunked_fetch, self.chunk_size):
                row, patient = _STRIPS[base](row)
                _note(actor, patient)
                yield row

    Noting.__name__ = f"Noting{base.__name__}"
    return Noting


def _strip_model(row: Any) -> tuple[Any, Any]:
    return row, row.__dict__.pop(PATIENT_COLUMN)


def _strip_dict(row: dict[str, Any]) -> tuple[Any, Any]:
    return row, row.pop(PATIENT_COLUMN)


def _strip_tuple(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[:-1], row[-1]  # an annotation added last is the last column


def _strip_flat(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[0], row[-1]


_STRIPS = {
    ModelIterable: _strip_model,
    ValuesIterable: _strip_dict,
    ValuesListIterable: _strip_tuple,
    FlatValuesListIterable: _strip_flat,
}


def _asking_again(base: type[Any], qs: Any, chunked: bool, chunk_size: int) -> Iterator[Any]:
    rows = list(base(qs, chunked, chunk_size))
    if rows:
        again: QuerySet[Any] = QuerySet(model=qs.model, query=qs.query.chain(), using=qs.db)
        audit_note(
            actor=qs._audit_actor,
            enrollment_ids={
                i for i in again.values_list(qs._audit_via, flat=True) if i is not None
            },
        )
    yield from rows


def _note(actor: Any, patient: Any) -> None:
    if patient is not None:
        audit_note(actor=actor, enrollment_ids=(patient,))


class _NotesPatients:
    """Mixed into a queryset of patient records (see `noting_reads`)."""

    _audit_actor: Any = None
    _audit_via: str = "enrollment_id"
    _iterable_class: type[Any]

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        clone._audit_actor = self._audit_actor
        clone._audit_via = self._audit_via
        return clone

    def _noting(self) -> type[Any]:
        base = self._iterable_class
        if base not in _NOTING:
            _NOTING[base] = _iterable_noting(base)
        return _NOTING[base]

    # Both ways a queryset yields rows build `self._iterable_class(self, ...)`: each is
    # run with the noting one in its place.
    def _fetch_all(self) -> None:
        if self._audit_actor is None:
            return super()._fetch_all()  # type: ignore[misc]
        base = self._iterable_class
        self._iterable_class = self._noting()
        try:
            super()._fetch_all()  # type: ignore[misc]
        finally:
            self._iterable_class = base
        return None

    def _iterator(self, use_chunked_fetch: bool, chunk_size: int | None) -> Iterator[Any]:
        if self._audit_actor is None:
            yield from super()._iterator(use_chunked_fetch, chunk_size)  # type: ignore[misc]
            return
        marked = cast(Any, self)._chain()  # `self` is not changed while the loop runs
        marked._iterable_class = self._noting()
        parent: Any = super(_NotesPatients, marked)
        yield from parent._iterator(use_chunked_fetch, chunk_size)


_NOTING: dict[type, type] = {}
_MARKED: dict[type, type] = {}


def noting_reads(qs: QuerySet[M], actor: Any, *, via: str) -> QuerySet[M]:
    """`qs`, noting as read by `actor` the patient (`via`: the path from a row to its
    enrollment id) of every row it yields."""
    cls = type(qs)
    if not issubclass(cls, _NotesPatients):
        if cls not in _MARKED:
            _MARKED[cls] = type(f"Audited{cls.__name__}", (_NotesPatients, cls), {})
        qs = qs.all()
        qs.__class__ = _MARKED[cls]
    marked = cast(Any, qs)
    marked._audit_actor, marked._audit_via = actor, via
    return qs
