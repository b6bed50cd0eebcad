"""The only text that ever goes into a push: generic, the same for every patient.

A push can appear on a locked screen, so it names no substance, craving, mood, program,
counselor, session kind or flag kind. The app fetches the details by notification id.
"""

from __future__ import annotations

from notifications.models import NotificationKind

PUSH_TEXT: dict[str, tuple[str, str]] = {
    NotificationKind.SESSION_REMINDER: ("Reminder", "You have something coming up. Open the app."),
    NotificationKind.SESSION_CANCELLED: ("Schedule update", "Your schedule changed. Open the app."),
    NotificationKind.SESSION_MOVED: ("Schedule update", "Your schedule changed. Open the app."),
    NotificationKind.CHECKIN_NUDGE: ("Daily check-in", "How are you today? Open the app."),
    NotificationKind.CRISIS_RESOURCES: ("Support is here", "Open the app for help right now."),
    NotificationKind.FLAG_RAISED: ("New alert", "Someone on your caseload needs attention."),
    NotificationKind.FLAG_ESCALATED: ("Alert escalated", "An alert needs attention now."),
    NotificationKind.MEDICATION_REMINDER: (
        "Reminder",
        "A daily reminder is waiting. Open the app.",
    ),
}

DEFAULT_PUSH_TEXT = ("New message", "Open the app to read it.")


def push_text(kind: str) -> tuple[str, str]:
    return PUSH_TEXT.get(kind, DEFAULT_PUSH_TEXT)
