"""Writing many rows' new values in one UPDATE, cheaply.

`QuerySet.bulk_update` builds a `When()` per row and per field, and resolving those
expressions cost the dispatcher more CPU than all of its HTTP (bench/dispatch.py: a third
of the process's CPU for 8 fields). Here a field whose new value is the same for every row
(the state, the cleared lease, usually the send time) is a plain `SET col = value`, and
only the fields that differ between rows become one `CASE pk WHEN ... END`, compiled
straight to SQL with the field's own value preparation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

# Two parameters per row and differing field: well under SQLite's and PostgreSQL's limits.
ROWS_PER_UPDATE = 500


class ValuesByPk(Expression):
    """`CASE pk WHEN %s THEN %s ... END`: each row's own value of one field."""

    def __init__(self, field: models.Field[Any, Any], values: dict[Any, Any]) -> None:
        super().__init__(output_field=field)
        self.target = field
        self.values = values

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        pk_field = self.target.model._meta.pk
        assert pk_field is not None
        assert pk_field.column is not None
        pk = compiler.quote_name_unless_alias(pk_field.column)
        params: list[Any] = []
        for key, value in self.values.items():
            params += [key, self.target.get_db_prep_save(value, connection)]
        whens = " ".join(["WHEN %s THEN %s"] * len(self.values))
        return f"CASE {pk} {whens} END", params


def rows_update(queryset: models.QuerySet[M], rows: Sequence[M], fields: Sequence[str]) -> int:
    """Write `fields` of `rows` (as the instances hold them) to the rows of `queryset`
    among them; returns how many rows were written."""
    meta = queryset.model._meta
    written = 0
    for start in range(0, len(rows), ROWS_PER_UPDATE):
        chunk = rows[start : start + ROWS_PER_UPDATE]
        values: dict[str, Any] = {}
        for name in fields:
            field = meta.get_field(name)
            assert isinstance(field, models.Field), f"{name} is not a concrete field"
            first = getattr(chunk[0], field.attname)
            if all(getattr(row, field.attname) == first for row in chunk):
                values[name] = first
            else:
                values[name] = ValuesByPk(
                    field, {row.pk: getattr(row, field.attname) for row in chunk}
                )
        written += queryset.filter(pk__in=[row.pk for row in chunk]).update(**values)
    return written
