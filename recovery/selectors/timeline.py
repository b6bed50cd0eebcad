"""A patient's timeline: check-ins, practice, urges, attendance and flags in one feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from backend.bounds import instant_in_range
from recovery.models import Attendance, CheckIn, Enrollment, ExercisePractice, Flag, UrgeEvent

TYPES = ("attendance", "checkin", "exercise_practice", "flag", "urge")


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
) -> list[dict[str, Any]]:
    """The `limit` most recent events after `cursor` (or before the instant `before`),
    newest first. Each source is read with the same bound, so the feed costs five small
    queries per page."""
    if cursor is None and before is not None:
        cursor = TimelineCursor(at=before)  # type "" sorts first: strictly before `before`

    def bounded(qs: Any, field: str, kind: str) -> Any:
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
    for c in bounded(CheckIn.objects.filter(enrollment=enrollment), "device_time", "checkin"):
        items.append(
            {
                "type": "checkin",
                "id": c.id,
                "at": c.device_time,
                "data": {
                    "mood": c.mood,
                    "craving": c.craving,
                    "used_substance": c.used_substance,
                    "is_late": c.is_late,
                },
            }
        )
    for p in bounded(
        ExercisePractice.objects.filter(enrollment=enrollment).select_related("exercise"),
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
                },
            }
        )
    for u in bounded(UrgeEvent.objects.filter(enrollment=enrollment), "occurred_at", "urge"):
        items.append(
            {"type": "urge", "id": u.id, "at": u.occurred_at, "data": {"intensity": u.intensity}}
        )
    for a in bounded(
        Attendance.objects.filter(enrollment=enrollment).select_related("session"),
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
    for f in bounded(Flag.objects.filter(enrollment=enrollment), "created_at", "flag"):
        items.append(
            {
                "type": "flag",
                "id": f.id,
                "at": f.created_at,
                "data": {"kind": f.kind, "severity": f.severity, "status": f.status},
            }
        )
    items.sort(key=lambda item: (item["at"], item["type"], item["id"]), reverse=True)
    return items[:limit]
