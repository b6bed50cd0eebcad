"""The facts contingency management judges, and how: the hooks the services that record
them call inside their transaction (screens, attendance, check-ins)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from backend.timezones import local_date
from recovery.dates import enrollment_date
from recovery.models import (
    Attendance,
    AttendanceStatus,
    Behaviour,
    CheckIn,
    DrugScreen,
    Enrollment,
    IncentiveProtocol,
    OutcomeResult,
    ScreenStatus,
    SubstanceResult,
)
from recovery.services.incentives import Fact, Verdict, incentives_fact_recorded

# --- the facts the backend records ------------------------------------------------------


def screen_verdict(screen: DrugScreen, protocol: IncentiveProtocol) -> Verdict:
    """Abstinence: negative for the substance succeeds; positive (not prescribed), missed
    or refused misses. MOUD adherence: positive as prescribed succeeds; negative misses."""
    if screen.status in (ScreenStatus.MISSED, ScreenStatus.REFUSED):
        return OutcomeResult.MISS
    found = next((r for r in screen.results.all() if r.substance == protocol.substance), None)
    if found is None or found.result == SubstanceResult.INCONCLUSIVE:
        return None
    positive = found.result == SubstanceResult.POSITIVE
    if protocol.behaviour == Behaviour.MEDICATION_ADHERENCE:
        if positive and found.prescribed:
            return OutcomeResult.SUCCESS
        return None if positive else OutcomeResult.MISS
    if positive:
        return None if found.prescribed else OutcomeResult.MISS
    return OutcomeResult.SUCCESS


def incentives_screen_recorded(*, screen: DrugScreen, now: datetime | None = None) -> None:
    """A screen was recorded or corrected: abstinence and adherence protocols judge it."""
    for behaviour in (Behaviour.NEGATIVE_SCREEN, Behaviour.MEDICATION_ADHERENCE):
        incentives_fact_recorded(
            fact=Fact(
                enrollment=screen.enrollment,
                behaviour=behaviour,
                key=f"screen:{screen.id}",
                occurred_on=screen.collected_on,
                verdict=lambda protocol: screen_verdict(screen, protocol),
            ),
            now=now,
        )


ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


def attendance_verdict(status: str) -> Verdict:
    """Present or late succeeds, absent misses; excused or left early is neither."""
    if status in ATTENDED:
        return OutcomeResult.SUCCESS
    if status == AttendanceStatus.ABSENT:
        return OutcomeResult.MISS
    return None


def incentives_attendance_recorded(*, attendance: Attendance, now: datetime | None = None) -> None:
    session = attendance.session
    incentives_fact_recorded(
        fact=Fact(
            enrollment=attendance.enrollment,
            behaviour=Behaviour.SESSION_ATTENDANCE,
            key=f"attendance:{session.id}",
            occurred_on=local_date(session.starts_at, session.program.timezone),
            verdict=lambda protocol: attendance_verdict(attendance.status),
        ),
        now=now,
    )


def checkin_run(days: set[date], day: date) -> int:
    """Days in a row with a check-in, ending on `day`."""
    run = 0
    while day - timedelta(days=run) in days:
        run += 1
    return run


def incentives_checkin_recorded(*, checkin: CheckIn, now: datetime | None = None) -> None:
    """A streak protocol of N days earns on each N-th day in a row; a check-in after a
    day without one is a miss (the ladder drops back). A late check-in (sent long after
    the day it is dated, say a week of them backdated at once) keeps the record but
    earns nothing: a streak is of days checked in on the day."""
    if checkin.is_late:
        return
    enrollment = checkin.enrollment
    day = enrollment_date(enrollment, checkin.device_time)
    longest = enrollment.program.incentive_streak_days
    if longest is None:
        return
    instants = CheckIn.objects.filter(
        enrollment=enrollment, device_time__gte=checkin.device_time - timedelta(days=longest + 2)
    ).values_list("device_time", flat=True)
    days = {enrollment_date(enrollment, instant) for instant in instants}
    run = checkin_run(days, day)
    earlier = CheckIn.objects.filter(
        enrollment=enrollment, device_time__lt=checkin.device_time
    ).exists()

    def verdict(protocol: IncentiveProtocol) -> Verdict:
        if run == 1 and earlier:
            return OutcomeResult.MISS
        if protocol.streak_days and run % protocol.streak_days == 0:
            return OutcomeResult.SUCCESS
        return None

    incentives_fact_recorded(
        fact=Fact(
            enrollment=enrollment,
            behaviour=Behaviour.CHECKIN_STREAK,
            key=f"checkins:{day.isoformat()}",
            occurred_on=day,
            verdict=verdict,
        ),
        now=now,
    )


def incentives_questionnaire_completed(
    *, enrollment: Enrollment, assignment_id: int, completed_on: date, now: datetime | None = None
) -> None:
    """A questionnaire the program assigned was completed: called by
    `questionnaire_submit` in the transaction that stores the response. One fact per
    assignment; nothing counts as a miss (a questionnaire not sent is not one skipped)."""
    incentives_fact_recorded(
        fact=Fact(
            enrollment=enrollment,
            behaviour=Behaviour.QUESTIONNAIRE_COMPLETED,
            key=f"questionnaire:{assignment_id}",
            occurred_on=completed_on,
            verdict=lambda protocol: OutcomeResult.SUCCESS,
        ),
        now=now,
    )
