"""Crisis resources (US), returned beside support contacts and on every crisis path, in the
language active when they are read (the patient's: see backend/authentication.py)."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

# Each line answers in Spanish too: 988 (press 2), the SAMHSA helpline, and Crisis Text
# Line's keyword AYUDA; the Spanish descriptions say how.
_RESOURCES: list[dict[str, str]] = [
    {
        "name": gettext_noop("988 Suicide & Crisis Lifeline"),
        "phone": "988",
        "sms": "988",
        "description": gettext_noop("Call or text 988, any time, free and confidential."),
    },
    {
        "name": gettext_noop("SAMHSA National Helpline"),
        "phone": "1-800-662-4357",
        "sms": "",
        "description": gettext_noop("Free, confidential treatment referral and information, 24/7."),
    },
    {
        "name": gettext_noop("Crisis Text Line"),
        "phone": "",
        "sms": "741741",
        "description": gettext_noop("Text HOME to 741741."),
    },
]
_TRANSLATED = ("name", "description")


def crisis_resources() -> list[dict[str, str]]:
    """The crisis lines, their names and descriptions in the active language."""
    return [
        {key: gettext(value) if key in _TRANSLATED else value for key, value in line.items()}
        for line in _RESOURCES
    ]
