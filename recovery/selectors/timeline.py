"""A patient's timeline: check-ins, practice, urges, attendance, flags, drug screens,
mutual-help meetings and questionnaires in one feed, each with what it holds.

Staff only. Given the `reader`, every source is read through
`recovery.selectors.access.records_visible_to`, so the rows (notes included, decrypted on
read) are the reader's to see and their reads are noted for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from backend.bounds import instant_in_range
from recovery.models import (
    Attendance,
    CheckIn,
    DrugScreen,
    Enrollment,
    ExercisePractice,
    Flag,
    MutualHelpMeeting,
    QuestionnaireResponse,
    UrgeEvent,
    User,
)
from recovery.selectors.access import records_visible_to

TYPES = (
    "attendance",
    "checkin",
    "exercise_practice",
    "flag",
    "meeting",
    "questionnaire",
    "screen",
    "urge",
)


@dataclass(frozen=True)
class TimelineCursor:
    """Where a page ended: the last item's instant, type and id. The feed is ordered by
    exactly these, newest first, so the next page starts right after it even when several
    items share an instant (an urge and the flag it raised do)."""

    at: datetime
    type: str = ""
    id: int = 0

    def encode(self) -> str:
        return f"{self.at.isoformat()}|{self.type}|{self.id}"

    @classmethod
    def decode(cls, raw: str) -> TimelineCursor | None:
        parts = raw.split("|")
        if (
            len(parts) != 3
            or parts[1] not in TYPES
            or not (parts[2].isascii() and parts[2].isdigit())
        ):
            return None
        try:
            at = parse_datetime(parts[0])
        except ValueError:
            return None
        if at is None or at.tzinfo is None or not instant_in_range(at):
            return None
        return cls(at=at, type=parts[1], id=int(parts[2]))

    @classmethod
    def of(cls, item: dict[str, Any]) -> TimelineCursor:
        return cls(at=item["at"], type=item["type"], id=item["id"])


def timeline(
    *,
    enrollment: Enrollment,
    before: datetime | None,
    limit: int,
    cursor: TimelineCursor | None = None,
    reader: User | None = None,
) -> list[dict[str, Any]]:
    """The `limit` most recent events after `cursor` (or before the instant `before`),
    newest first. Each source is read with the same bound, so the feed costs one small
    query per source and page. `reader`: the staff member reading (see the module)."""
    if cursor is None and before is not None:
        cursor = TimelineCursor(at=before)  # type "" sorts first: strictly before `before`

    def bounded(qs: Any, field: str, kind: str) -> Any:
        qs = qs.filter(enrollment=enrollment)
        if reader is not None:
            qs = records_visible_to(reader, qs)
        if cursor is not None:
            if kind < cursor.type:  # sorts after the cursor's item at the same instant
                qs = qs.filter(**{f"{field}__lte": cursor.at})
            elif kind == cursor.type:
                qs = qs.filter(
                    Q(**{f"{field}__lt": cursor.at}) | Q(**{field: cursor.at, "id__lt": cursor.id})
                )
            else:
                qs = qs.filter(**{f"{field}__lt": cursor.at})
        return qs.order_by(f"-{field}", "-id")[:limit]

    items: list[dict[str, Any]] = []
    for c in bounded(CheckIn.objects.all(), "device_time", "checkin"):
        items.append(
            {
                "type": "checkin",
                "id": c.id,
                "at": c.device_time,
                "data": {
                    "mood": c.mood,
                    "craving": c.craving,
                    "used_substance": c.used_substance,
                    "substances": c.substances,
                    "triggers": c.triggers,
                    "trigger_other": c.trigger_other,
                    "hours_slept": None if c.hours_slept is None else float(c.hours_slept),
                    "medication_taken": c.medication_taken,
                    "self_harm_thoughts": c.self_harm_thoughts,
                    "note": c.note,
                    "is_late": c.is_late,
                },
            }
        )
    for p in bounded(
        ExercisePractice.objects.select_related("exercise"),
        "practiced_at",
        "exercise_practice",
    ):
        items.append(
            {
                "type": "exercise_practice",
                "id": p.id,
                "at": p.practiced_at,
                "data": {
                    "exercise": p.exercise.name,
                    "craving_before": p.craving_before,
                    "craving_after": p.craving_after,
                    "helpfulness": p.helpfulness,
                    "note": p.note,
                },
            }
        )
    for u in bounded(UrgeEvent.objects.all(), "occurred_at", "urge"):
        items.append(
            {
                "type": "urge",
                "id": u.id,
                "at": u.occurred_at,
                "data": {"intensity": u.intensity, "note": u.note},
            }
        )
    for a in bounded(
        Attendance.objects.select_related("session"),
        "session__starts_at",
        "attendance",
    ):
        items.append(
            {
                "type": "attendance",
                "id": a.id,
                "at": a.session.starts_at,
                "data": {
                    "session": a.session.title,
                    "kind": a.session.kind,
                    "status": a.status,
                    "minutes_attended": a.minutes_attended,
                },
            }
        )
    for f in bounded(Flag.objects.all(), "created_at", "flag"):
        items.append(
            {
                "type": "flag",
                "id": f.id,
                "at": f.created_at,
                "data": {"kind": f.kind, "severity": f.severity, "status": f.status},
            }
        )
    items += _monitoring(bounded)
    items.sort(key=lambda item: (item["at"], item["type"], item["id"]), reverse=True)
    return items[:limit]


def _monitoring(bounded: Any) -> list[dict[str, Any]]:
    """Drug screens (at their recording), meetings (at their logging) and questionnaires."""
    items: list[dict[str, Any]] = []
    for s in bounded(DrugScreen.objects.prefetch_related("results"), "recorded_at", "screen"):
        items.append(
            {
                "type": "screen",
                "id": s.id,
                "at": s.recorded_at,
                "data": {
                    "collected_on": s.collected_on,
                    "method": s.method,
                    "status": s.status,
                    "outcome": s.outcome,
                    "observed": s.observed,
                    "results": [
                        {"substance": r.substance, "result": r.result, "prescribed": r.prescribed}
                        for r in s.results.all()
                    ],
                    "note": s.note,
                },
            }
        )
    for m in bounded(MutualHelpMeeting.objects.all(), "logged_at", "meeting"):
        items.append(
            {
                "type": "meeting",
                "id": m.id,
                "at": m.logged_at,
                "data": {
                    "fellowship": m.fellowship,
                    "fellowship_other": m.fellowship_other,
                    "format": m.format,
                    "attended_on": m.attended_on,
                    "note": m.note,
                },
            }
        )
    for q in bounded(
        QuestionnaireResponse.objects.only(
            "id", "enrollment_id", "instrument", "total", "band", "device_time", "is_late"
        ),
        "device_time",
        "questionnaire",
    ):
        items.append(
            {
                "type": "questionnaire",
                "id": q.id,
                "at": q.device_time,
                "data": {
                    "instrument": q.instrument,
                    "total": q.total,
                    "band": q.band,
                    "is_late": q.is_late,
                },
            }
        )
    return items
