"""The kinds of notification recovery sends, registered with notifications/ at start-up,
and the staff groups a message can be addressed to.

The push text is generic (it may show on a locked screen); the clinical detail travels in
the notification's payload over the authenticated API and websocket only. Push texts marked
`gettext_noop` are in the Spanish catalog; they are sent as written until the dispatcher translates
them into the recipient's language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.db import models
from django.utils.translation import gettext_noop

from notifications.kinds import Kind, register_kind, register_staff_group

CARE_TEAM = "care_team"  # scope: an enrollment
PROGRAM_SUPERVISORS = "program_supervisors"  # scope: a program


class NotificationKind(models.TextChoices):
    SESSION_REMINDER = "session_reminder", "Session reminder"
    SESSION_CANCELLED = "session_cancelled", "Session cancelled"
    SESSION_MOVED = "session_moved", "Session moved"
    CHECKIN_NUDGE = "checkin_nudge", "Check-in nudge"
    CRISIS_RESOURCES = "crisis_resources", "Crisis resources"
    FLAG_RAISED = "flag_raised", "Flag raised"
    FLAG_ESCALATED = "flag_escalated", "Flag escalated"
    FLAG_CHANGED = "flag_changed", "Flag changed"
    MEDICATION_REMINDER = "medication_reminder", "Medication reminder"
    APP_SILENT = "app_silent", "Please open the app"
    QUESTIONNAIRE_DUE = "questionnaire_due", "Questionnaire due"
    INCENTIVE = "incentive", "Rewards"
    CARE_MESSAGE = "care_message", "Message in a care-team conversation"
    MESSAGES_READ = "messages_read", "Messages read"
    RECOVERY_MILESTONE = "recovery_milestone", "Recovery milestone"
    RECOVERY_RESTART = "recovery_restart", "Recovery count restarted"


# The flag events that send FLAG_CHANGED (raising and escalating have their own kinds).
FLAG_CHANGES = ("acknowledged", "assigned", "resolved", "reopened")

SCHEDULE_UPDATE = ("Schedule update", "Your schedule changed. Open the app.")


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI object whose properties are all present."""
    return {"type": "object", "properties": properties, "required": sorted(properties)}


TEXT = {"type": "string"}
INSTANT = {"type": "string", "format": "date-time"}
ID = {"type": "integer"}


def payload_schemas() -> dict[str, dict[str, Any]]:
    """The shape of each kind's payload, as the services write it: sessions
    (recovery/services/sessions.py), flags (flags.py), nudges (schedules.py), crisis lines
    (checkins.py), dose reminders (medications.py), a silent app (presence.py)."""
    from recovery.models import FlagKind, FlagStatus, SessionKind, Severity

    # What recovery/services/sessions.py puts in a session's notifications.
    session = {
        "session_id": ID,
        "kind": {"type": "string", "enum": [value for value, _ in SessionKind.choices]},
        "title": TEXT,
        "starts_at": INSTANT,
        "ends_at": INSTANT,
        "location": TEXT,
        "video_url": TEXT,
    }
    # What recovery/services/flags.py puts in a flag's notifications.
    flag = _object(
        {
            "flag_id": ID,
            "patient_id": ID,
            "enrollment_id": ID,
            "kind": {"type": "string", "enum": [value for value, _ in FlagKind.choices]},
            "severity": {"type": "integer", "enum": [value for value, _ in Severity.choices]},
            "severity_label": TEXT,
            "window": TEXT,
            "created_at": INSTANT,
        }
    )
    crisis_resource = _object({"name": TEXT, "phone": TEXT, "sms": TEXT, "description": TEXT})
    return {
        NotificationKind.SESSION_REMINDER: _object(
            {**session, "offset_minutes": {"type": "integer"}}
        ),
        NotificationKind.SESSION_CANCELLED: _object(session),
        NotificationKind.SESSION_MOVED: _object(session),
        NotificationKind.CHECKIN_NUDGE: _object(
            {"window_day": {"type": "string", "format": "date"}, "due_at": INSTANT}
        ),
        NotificationKind.CRISIS_RESOURCES: _object(
            {"crisis_resources": {"type": "array", "items": crisis_resource}}
        ),
        NotificationKind.FLAG_RAISED: flag,
        NotificationKind.FLAG_ESCALATED: flag,
        # recovery/services/flags.py: someone acknowledged, assigned, resolved or reopened it.
        NotificationKind.FLAG_CHANGED: _object(
            {
                "flag_id": ID,
                "enrollment_id": ID,
                "status": {"type": "string", "enum": list(FlagStatus.values)},
                "action": {"type": "string", "enum": list(FLAG_CHANGES)},
                "assigned_to": {"type": "integer", "nullable": True},
            }
        ),
        NotificationKind.MEDICATION_REMINDER: _object(
            {
                "reminder": {"type": "string", "enum": ["medication"]},
                "local_time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"},
            }
        ),
        NotificationKind.APP_SILENT: _object({"silent_since": INSTANT}),
        # recovery/services/questionnaire_schedules.py
        NotificationKind.QUESTIONNAIRE_DUE: _object({"assignment_id": ID, "instrument": TEXT}),
        # recovery/services/incentives.py: a reversal names no cap.
        NotificationKind.INCENTIVE: {
            "type": "object",
            "properties": {
                "incentive": {"type": "string", "enum": ["earned", "reversed"]},
                "outcome": ID,
                "amount_cents": {"type": "integer"},
                "cap_reached": {"type": "boolean"},
                "cap": {"type": "string", "nullable": True},
            },
            "required": ["amount_cents", "incentive", "outcome"],
        },
        # recovery/services/messages.py: ids only, the text is read over the API.
        # The patient as everywhere in payloads and routes (patients/{id}/): the enrollment.
        NotificationKind.CARE_MESSAGE: _object({"enrollment_id": ID, "message_id": ID}),
        NotificationKind.MESSAGES_READ: _object(
            {"enrollment_id": ID, "reader_id": ID, "last_read_id": ID}
        ),
        # recovery/services/milestones.py
        NotificationKind.RECOVERY_MILESTONE: _object({"enrollment_id": ID, "days": ID}),
        NotificationKind.RECOVERY_RESTART: _object({"enrollment_id": ID}),
    }


DISCLOSURE_PAYLOAD = _object({"disclosure_id": ID})

KINDS = [
    Kind(
        NotificationKind.SESSION_REMINDER,
        NotificationKind.SESSION_REMINDER.label,
        "Reminder",
        "You have something coming up. Open the app.",
    ),
    Kind(NotificationKind.SESSION_CANCELLED, "Session cancelled", *SCHEDULE_UPDATE),
    Kind(NotificationKind.SESSION_MOVED, "Session moved", *SCHEDULE_UPDATE),
    Kind(
        NotificationKind.CHECKIN_NUDGE,
        "Check-in nudge",
        "Daily check-in",
        "How are you today? Open the app.",
    ),
    # Safety first: nobody can mute these.
    Kind(
        NotificationKind.CRISIS_RESOURCES,
        "Crisis resources",
        "Support is here",
        "Open the app for help right now.",
        urgent=True,
        mutable=False,
    ),
    Kind(
        NotificationKind.FLAG_RAISED,
        "Flag raised",
        "New alert",
        "Someone on your caseload needs attention.",
        mutable=False,
    ),
    Kind(
        NotificationKind.FLAG_ESCALATED,
        "Flag escalated",
        "Alert escalated",
        "An alert needs attention now.",
        urgent=True,
        mutable=False,
    ),
    # Another dashboard acted on a flag: the open queues and toasts follow. To whoever is
    # connected and the inbox, never pushed, stale within the day.
    Kind(
        NotificationKind.FLAG_CHANGED,
        "Flag changed",
        "Alert updated",
        "An alert was updated.",
        mutable=False,
        ttl=timedelta(days=1),
    ),
    # A dose reminder hours late does more harm than good.
    Kind(
        NotificationKind.MEDICATION_REMINDER,
        "Medication reminder",
        "Reminder",
        "A daily reminder is waiting. Open the app.",
        ttl=timedelta(hours=6),
    ),
    # The app has not been heard from for days (killed, token rotated): one nudge per
    # silence. Stale after a day: the next silence gets its own.
    Kind(
        NotificationKind.APP_SILENT,
        "Please open the app",
        "Still there?",
        "Open the app so your messages keep reaching you.",
        ttl=timedelta(days=1),
    ),
    # A questionnaire reminder is useless once its window has closed; the sender sets
    # each message's expiry to the window's end, the ttl bounds the rest.
    Kind(
        NotificationKind.QUESTIONNAIRE_DUE,
        "Questionnaire due",
        "A short questionnaire",
        "A questionnaire from your care team is waiting. Open the app.",
        ttl=timedelta(days=7),
    ),
    # Contingency management works by reinforcing at once; the push names no behaviour.
    Kind(
        NotificationKind.INCENTIVE,
        "Rewards",
        "Good news",
        "You have an update in the app.",
    ),
    # A message between a patient and their care team. The text stays in the conversation
    # (encrypted at rest); the notification carries only the patient's id and the message's.
    Kind(
        NotificationKind.CARE_MESSAGE,
        "Message in a care-team conversation",
        gettext_noop("New message"),
        gettext_noop("You have a new message. Open the app to read it."),
    ),
    # A read receipt: to whoever is connected, never pushed, stale within the day.
    Kind(
        NotificationKind.MESSAGES_READ,
        "Messages read",
        gettext_noop("Messages read"),
        gettext_noop("Your messages were read."),
        ttl=timedelta(days=1),
    ),
    # Recovery days: the lock screen says nothing about recovery.
    Kind(
        NotificationKind.RECOVERY_MILESTONE,
        "Recovery milestone",
        gettext_noop("Good news"),
        gettext_noop("Open the app to see it."),
        ttl=timedelta(days=2),
    ),
    Kind(
        NotificationKind.RECOVERY_RESTART,
        "Recovery count restarted",
        gettext_noop("We are with you"),
        gettext_noop("Open the app."),
        ttl=timedelta(days=2),
    ),
]


def care_teams(enrollment_ids: Collection[int]) -> dict[int, set[int]]:
    from django.db.models import F

    from recovery.models import CareTeamMember

    team: dict[int, set[int]] = defaultdict(set)
    # A deactivated counselor, or one moved to another program, hears nothing more.
    for enrollment_id, counselor_id in CareTeamMember.objects.filter(
        enrollment_id__in=enrollment_ids,
        counselor__is_active=True,
        counselor__program_id=F("enrollment__program_id"),
    ).values_list("enrollment_id", "counselor_id"):
        team[enrollment_id].add(counselor_id)
    return team


def program_supervisors(program_ids: Collection[int]) -> dict[int, set[int]]:
    from recovery.models import Role, User

    supervisors: dict[int, set[int]] = defaultdict(set)
    for program_id, user_id in User.objects.filter(
        program_id__in=program_ids, role=Role.SUPERVISOR, is_active=True
    ).values_list("program_id", "id"):
        supervisors[program_id].add(user_id)
    return supervisors


def register() -> None:
    from recovery.services.consent import DISCLOSURE_EMAIL, DISCLOSURE_KIND

    payloads = payload_schemas()
    for kind in KINDS:
        register_kind(replace(kind, payload_schema=payloads[kind.name]))
    # Part 2 disclosures to a support contact, sent by email under a consent.
    register_kind(
        Kind(
            DISCLOSURE_KIND,
            "Disclosure to a support contact",
            "",
            "",
            mutable=False,
            email=DISCLOSURE_EMAIL,
            payload_schema=DISCLOSURE_PAYLOAD,
        )
    )
    register_staff_group(CARE_TEAM, care_teams)
    register_staff_group(PROGRAM_SUPERVISORS, program_supervisors)
