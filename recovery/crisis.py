"""Crisis resources (US), returned beside support contacts and on every crisis path."""

from __future__ import annotations

CRISIS_RESOURCES: list[dict[str, str]] = [
    {
        "name": "988 Suicide & Crisis Lifeline",
        "phone": "988",
        "sms": "988",
        "description": "Call or text 988, any time, free and confidential.",
    },
    {
        "name": "SAMHSA National Helpline",
        "phone": "1-800-662-4357",
        "sms": "",
        "description": "Free, confidential treatment referral and information, 24/7.",
    },
    {
        "name": "Crisis Text Line",
        "phone": "",
        "sms": "741741",
        "description": "Text HOME to 741741.",
    },
]
