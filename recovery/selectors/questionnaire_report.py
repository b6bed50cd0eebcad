"""Outcomes across patients (the standard's third element) and the patients not
improving (its second): both read through the access selectors, so staff reads are
audited and no program sees another's patients."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from recovery.models import (
    AssignmentStatus,
    ProgramQuestionnaireSettings,
    QuestionnaireAssignment,
    QuestionnaireResponse,
    User,
)
from recovery.questionnaires.scoring import change_between
from recovery.selectors.access import records_visible_to
from recovery.selectors.questionnaires import instrument_definition

DEFAULT_NOT_IMPROVING_DAYS = 28


def _histories(user: User) -> dict[str, dict[int, list[tuple[datetime, int]]]]:
    """Per instrument, per patient in the user's reach: (when, total), oldest first."""
    rows = records_visible_to(user, QuestionnaireResponse.objects.all())
    by_code: dict[str, dict[int, list[tuple[datetime, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for enrollment_id, code, at, total in rows.order_by("device_time", "id").values_list(
        "enrollment_id", "instrument", "device_time", "total"
    ):
        by_code[code][enrollment_id].append((at, total))
    return by_code


def _share(flags: list[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return round(sum(known) / len(known), 3) if known else None


@dataclass
class PatientOutcome:
    patient: int
    baseline: int
    latest: int
    change: int
    improved: bool
    responded: bool | None
    remitted: bool | None


def program_report(*, user: User) -> list[dict[str, Any]]:
    """For each instrument: the baseline and latest score of everyone who took it at least
    twice, the share improved (reliably, where the instrument has a reliable-change rule),
    responded and remitted, and the share of due questionnaires completed."""
    program_id = user.program_id
    assert program_id is not None
    completion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    assignments = records_visible_to(user, QuestionnaireAssignment.objects.all()).exclude(
        status=AssignmentStatus.DUE
    )
    for code, state in assignments.values_list("instrument", "status"):
        completion[code][state] += 1
    report = []
    histories = _histories(user)
    for code in sorted(set(histories) | set(completion)):
        definition = instrument_definition(program_id=program_id, code=code)
        outcomes: list[PatientOutcome] = []
        for enrollment_id, points in sorted(histories.get(code, {}).items()):
            if len(points) < 2:
                continue
            baseline, latest = points[0][1], points[-1][1]
            change = change_between(definition, baseline, latest) if definition else None
            outcomes.append(
                PatientOutcome(
                    patient=enrollment_id,
                    baseline=baseline,
                    latest=latest,
                    change=latest - baseline,
                    improved=change.reliable_improvement if change else latest < baseline,
                    responded=change.response if change else None,
                    remitted=change.remission if change else None,
                )
            )
        done = completion[code][AssignmentStatus.COMPLETED]
        closed = done + completion[code][AssignmentStatus.MISSED]
        report.append(
            {
                "instrument": code,
                "patients_with_two_or_more": len(outcomes),
                "share_improved": _share([o.improved for o in outcomes]),
                "share_responded": _share([o.responded for o in outcomes]),
                "share_remitted": _share([o.remitted for o in outcomes]),
                "completion_rate": round(done / closed, 3) if closed else None,
                "patients": [o.__dict__ for o in outcomes],
            }
        )
    return report


CSV_COLUMNS = ["instrument", "patient", "baseline", "latest", "change", "improved"]
CSV_COLUMNS += ["responded", "remitted"]


def program_report_rows(report: list[dict[str, Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = [CSV_COLUMNS]
    for instrument in report:
        for outcome in instrument["patients"]:
            rows.append([instrument["instrument"], *(outcome[c] for c in CSV_COLUMNS[1:])])
    return rows


def not_improving(*, user: User, now: datetime | None = None) -> list[dict[str, Any]]:
    """Patients whose latest score, taken at least the program's number of days after their
    baseline (28 by default), shows no reliable improvement on an instrument that has a
    reliable-change rule."""
    now = now or timezone.now()
    settings = ProgramQuestionnaireSettings.objects.filter(program_id=user.program_id or 0).first()
    days = settings.not_improving_after_days if settings else DEFAULT_NOT_IMPROVING_DAYS
    listed = []
    for code, patients in sorted(_histories(user).items()):
        definition = instrument_definition(program_id=user.program_id or 0, code=code)
        if definition is None or "change" not in definition:
            continue
        for enrollment_id, points in sorted(patients.items()):
            (first_at, baseline), (last_at, latest) = points[0], points[-1]
            if last_at - first_at < timedelta(days=days):
                continue
            change = change_between(definition, baseline, latest)
            if change is not None and not change.reliable_improvement:
                listed.append(
                    {
                        "patient": enrollment_id,
                        "instrument": code,
                        "baseline": baseline,
                        "latest": latest,
                        "baseline_at": first_at.isoformat(),
                        "latest_at": last_at.isoformat(),
                    }
                )
    return listed
