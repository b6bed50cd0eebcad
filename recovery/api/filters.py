"""django-filter sets: every list of patient records filters by patient and date range."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from recovery.api.common import BoundedDateTimeFilter, IdFilter


def patient_and_range(
    time_field: str, patient_field: str = "enrollment"
) -> type[django_filters.FilterSet]:
    class PatientRangeFilter(django_filters.FilterSet):
        patient = IdFilter(field_name=patient_field, help_text="Patient id.")
        since = BoundedDateTimeFilter(field_name=time_field, lookup_expr="gte")
        until = BoundedDateTimeFilter(field_name=time_field, lookup_expr="lt")

        def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
            return super().filter_queryset(queryset)

    return PatientRangeFilter
