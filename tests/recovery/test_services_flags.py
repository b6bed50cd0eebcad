"""Rules that raise flags, and the life of a flag: acknowledge, resolve, reopen, escalate."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.errors import NotAllowed, ServiceError
from notifications.models import Notification
from recovery.models import Flag, FlagKind, FlagStatus, Severity
from recovery.services.checkins import checkin_submit, urge_record
from recovery.services.flags import (
    flag_acknowledge,
    flag_assign,
    flag_reopen,
    flag_resolve,
    flags_escalate_due,
)
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def _submit(enrollment, **answers):
    data = {
        "mood": 3,
        "craving": 1,
        "used_substance": False,
        "device_time": timezone.now(),
        "device_timezone": enrollment.timezone,
    }
    data.update(answers)
    return checkin_submit(enrollment=enrollment, client_id=uuid.uuid4(), data=data)


@pytest.fixture
def team(program, counselor, supervisor):
    other = CounselorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, primary_counselor=counselor, team=[other])
    return enrollment, counselor, other, supervisor


def test_craving_at_the_program_threshold_raises_a_warning(team):
    enrollment, *_ = team
    _submit(enrollment, craving=7)
    assert not Flag.objects.exists()
    _submit(enrollment, craving=8)
    flag = Flag.objects.get()
    assert (flag.kind, flag.severity) == (FlagKind.HIGH_CRAVING, Severity.WARNING)


def test_a_program_can_lower_the_craving_threshold(team):
    enrollment, *_ = team
    enrollment.program.craving_threshold = 6
    enrollment.program.save()
    _submit(enrollment, craving=6)
    assert Flag.objects.get().kind == FlagKind.HIGH_CRAVING


def test_flags_are_deduplicated_per_patient_kind_and_day(team):
    enrollment, *_ = team
    _submit(enrollment, craving=9)
    _submit(enrollment, craving=10)
    assert Flag.objects.filter(kind=FlagKind.HIGH_CRAVING).count() == 1


def test_reported_use_is_urgent_and_the_care_team_is_told(team):
    enrollment, counselor, other, supervisor = team
    _submit(enrollment, used_substance=True, substances=["alcohol"])
    flag = Flag.objects.get()
    assert (flag.kind, flag.severity) == (FlagKind.SUBSTANCE_USE, Severity.URGENT)
    told = dict(Notification.objects.filter(kind="flag_raised").values_list("recipient", "push"))
    # The supervisor watches the whole program: in the inbox and live, not on the phone
    # (not a crisis).
    assert told == {counselor.id: True, other.id: True, supervisor.id: False}


def test_a_supervisor_who_is_also_on_the_care_team_is_told_once(program, counselor):
    supervisor = SupervisorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, primary_counselor=counselor, team=[supervisor])
    _submit(enrollment, craving=9)
    rows = Notification.objects.filter(kind="flag_raised", recipient=supervisor)
    assert [row.push for row in rows] == [True]  # as a member of the care team


def test_self_harm_is_a_crisis_for_team_supervisor_and_patient(team):
    enrollment, counselor, other, supervisor = team
    result = _submit(enrollment, self_harm_thoughts=True)
    assert result.crisis
    flag = Flag.objects.get()
    assert flag.severity == Severity.CRISIS
    told = dict(Notification.objects.filter(kind="flag_raised").values_list("recipient", "push"))
    assert told == {counselor.id: True, other.id: True, supervisor.id: True}
    crisis = Notification.objects.get(kind="crisis_resources")
    assert crisis.recipient_id == enrollment.patient_id
    assert crisis.urgent
    assert any(r["phone"] == "988" for r in crisis.payload["crisis_resources"])


def test_an_urge_press_raises_one_flag_a_day(team):
    enrollment, *_ = team
    assert urge_record(enrollment=enrollment).flags == [FlagKind.URGE]
    assert urge_record(enrollment=enrollment).flags == []
    assert Flag.objects.filter(kind=FlagKind.URGE).count() == 1


def test_acknowledge_resolve_reopen_are_recorded(team):
    enrollment, counselor, other, _ = team
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    assert flag.assigned_to == counselor  # the primary counselor by default

    flag_acknowledge(flag=flag, actor=other)
    with pytest.raises(ServiceError):
        flag_acknowledge(flag=flag, actor=other)
    flag_assign(flag=flag, actor=other, assignee_id=other.id)
    with pytest.raises(ServiceError):
        flag_resolve(flag=flag, actor=other, outcome_note="  ")
    flag_resolve(flag=flag, actor=other, outcome_note="Called; made a plan for tonight.")
    flag_reopen(flag=flag, actor=counselor, note="Relapse risk again")

    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN
    assert flag.acknowledged_by == other
    actions = list(flag.events.values_list("action", flat=True))
    assert actions == ["raised", "acknowledged", "assigned", "resolved", "reopened"]


def test_unacknowledged_flags_escalate_to_the_supervisor_once(team, time_machine):
    enrollment, _, _, supervisor = team
    _submit(enrollment, craving=9)
    time_machine.move_to(timezone.now() + timedelta(hours=3, minutes=59))
    assert flags_escalate_due() == 0
    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    assert flags_escalate_due() == 1
    assert flags_escalate_due() == 0
    escalations = Notification.objects.filter(kind="flag_escalated")
    assert list(escalations.values_list("recipient", flat=True)) == [supervisor.id]
    assert Flag.objects.get().escalated_at is not None


def test_crisis_flags_escalate_after_fifteen_minutes(team, time_machine):
    enrollment, *_ = team
    _submit(enrollment, self_harm_thoughts=True)
    time_machine.move_to(timezone.now() + timedelta(minutes=16))
    assert flags_escalate_due() == 1


def test_an_acknowledged_flag_does_not_escalate(team, time_machine):
    enrollment, counselor, _, _ = team
    _submit(enrollment, craving=9)
    flag_acknowledge(flag=Flag.objects.get(), actor=counselor)
    time_machine.move_to(timezone.now() + timedelta(hours=5))
    assert flags_escalate_due() == 0


def test_supervisors_of_other_programs_hear_nothing(team):
    enrollment, *_ = team
    outsider = SupervisorFactory()
    _submit(enrollment, self_harm_thoughts=True)
    assert not Notification.objects.filter(recipient=outsider).exists()


def test_a_flag_is_assigned_only_within_its_own_program(team):
    """The service checks the program itself: no caller can hand a flag to an outsider,
    a deactivated colleague, or act on another program's flag."""
    enrollment, counselor, other, supervisor = team
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    outsider = CounselorFactory()
    gone = CounselorFactory(program=enrollment.program, is_active=False)
    for assignee in (outsider, gone, enrollment.patient):
        with pytest.raises(ServiceError):
            flag_assign(flag=flag, actor=counselor, assignee_id=assignee.id)
    with pytest.raises(NotAllowed):
        flag_assign(flag=flag, actor=SupervisorFactory(), assignee_id=counselor.id)
    flag.refresh_from_db()
    assert flag.assigned_to == counselor
    flag_assign(flag=flag, actor=supervisor, assignee_id=other.id)
    flag.refresh_from_db()
    assert flag.assigned_to == other


def test_only_staff_who_see_the_flag_act_on_it(team):
    """Every action on a flag checks its actor itself, as the flag queue decides who sees
    the flag: a counselor off the care team, a supervisor of another program, a
    deactivated counselor of the team and the patient change nothing."""
    enrollment, counselor, _, supervisor = team
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    off_team = CounselorFactory(program=enrollment.program)
    gone = CounselorFactory(program=enrollment.program, is_active=False)
    enrollment.members.create(counselor=gone)
    actions = (
        lambda actor: flag_acknowledge(flag=flag, actor=actor),
        lambda actor: flag_assign(flag=flag, actor=actor, assignee_id=counselor.id),
        lambda actor: flag_resolve(flag=flag, actor=actor, outcome_note="Called."),
    )
    for actor in (off_team, SupervisorFactory(), gone, enrollment.patient):
        for act in actions:
            with pytest.raises(NotAllowed):
                act(actor)
    flag_resolve(flag=flag, actor=supervisor, outcome_note="Called.")
    for actor in (off_team, SupervisorFactory(), gone, enrollment.patient):
        with pytest.raises(NotAllowed):
            flag_reopen(flag=flag, actor=actor)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert list(flag.events.values_list("action", flat=True)) == ["raised", "resolved"]


def test_every_change_tells_the_dashboards_that_show_the_flag_without_a_push(team):
    """Acknowledge, assign, resolve and reopen each send `flag_changed` to the care team and
    the program's supervisors (the actor's other tabs too), never to a phone."""
    enrollment, counselor, other, supervisor = team
    outsider = CounselorFactory(program=enrollment.program)
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    flag_acknowledge(flag=flag, actor=counselor)
    flag_assign(flag=flag, actor=counselor, assignee_id=other.id)
    flag_resolve(flag=flag, actor=other, outcome_note="Called; plan for tonight.")
    flag_reopen(flag=flag, actor=supervisor, note="Craving back.")
    changes = Notification.objects.filter(kind="flag_changed")
    assert {row.recipient_id for row in changes} == {counselor.id, other.id, supervisor.id}
    assert not changes.filter(push=True).exists()
    assert not changes.filter(recipient=outsider).exists()
    seen = [
        (row.payload["action"], row.payload["status"], row.payload["assigned_to"])
        for row in changes.filter(recipient=counselor).order_by("id")
    ]
    assert seen == [
        ("acknowledged", "acknowledged", counselor.id),
        ("assigned", "acknowledged", other.id),
        ("resolved", "resolved", other.id),
        ("reopened", "open", other.id),
    ]
    assert all(row.payload["flag_id"] == flag.id for row in changes)


def test_a_change_that_does_not_happen_tells_nobody(team):
    enrollment, counselor, _, _ = team
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    with pytest.raises(ServiceError):
        flag_reopen(flag=flag, actor=counselor)  # open, not resolved
    assert not Notification.objects.filter(kind="flag_changed").exists()


def test_a_reopened_flag_escalates_again_after_the_delay_if_it_never_did(team, time_machine):
    """Reopening restarts the escalation clock of a flag that was never escalated; it is
    acknowledged again, or it reaches the supervisors after the program's delay."""
    enrollment, counselor, _, supervisor = team
    _submit(enrollment, craving=9)
    flag = Flag.objects.get()
    flag_resolve(flag=flag, actor=counselor, outcome_note="Called.")
    time_machine.move_to(timezone.now() + timedelta(hours=6))
    assert flags_escalate_due() == 0
    flag_reopen(flag=flag, actor=counselor)
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_at, flag.resolved_by) == (FlagStatus.OPEN, None, None)
    delay = timedelta(minutes=enrollment.program.escalation_delay_minutes)
    assert abs(flag.escalate_at - (timezone.now() + delay)) < timedelta(seconds=30)
    time_machine.move_to(flag.escalate_at + timedelta(minutes=1))
    assert flags_escalate_due() == 1
    flag.refresh_from_db()
    assert flag.escalated_at is not None
    escalations = Notification.objects.filter(kind="flag_escalated")
    assert list(escalations.values_list("recipient", flat=True)) == [supervisor.id]


def test_a_flag_escalated_before_is_not_escalated_twice_after_a_reopen(team, time_machine):
    enrollment, counselor, _, _ = team
    _submit(enrollment, craving=9)
    time_machine.move_to(timezone.now() + timedelta(hours=5))
    assert flags_escalate_due() == 1
    flag = Flag.objects.get()
    flag_resolve(flag=flag, actor=counselor, outcome_note="Called.")
    flag_reopen(flag=flag, actor=counselor)
    flag.refresh_from_db()
    assert flag.escalate_at is None
    time_machine.move_to(timezone.now() + timedelta(hours=5))
    assert flags_escalate_due() == 0
