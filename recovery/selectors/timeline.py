"""A patient's timeline: check-ins, practice, urges, attendance and flags in one feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recovery.models import Attendance, CheckIn, Enrollment, ExercisePractice, Flag, UrgeEvent


def timeline(
    *, enrollment: Enrollment, before: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The `limit` most recent events before `before`, newest first. Each source is read
    with the same bound, so the feed costs five small queries per page."""

    def bounded(qs: Any, field: str) -> Any:
        if before is not None:
            qs = qs.filter(**{f"{field}__lt": before})
        return qs.order_by(f"-{field}", "-id")[:limit]

    items: list[dict[str, Any]] = []
    for c in bounded(CheckIn.objects.filter(enrollment=enrollment), "device_time"):
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
    for u in bounded(UrgeEvent.objects.filter(enrollment=enrollment), "occurred_at"):
        items.append(
            {"type": "urge", "id": u.id, "at": u.occurred_at, "data": {"intensity": u.intensity}}
        )
    for a in bounded(
        Attendance.objects.filter(enrollment=enrollment).select_related("session"),
        "session__starts_at",
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
    for f in bounded(Flag.objects.filter(enrollment=enrollment), "created_at"):
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
