"""Texts written for one patient to read later (reminders queued by jobs and by staff
actions): rendered in the patient's language, not in whoever's request queued them."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext


def in_language(language: str, text: str) -> str:
    """`text` (marked with gettext_noop where it is written) in `language`."""
    with translation.override(language):
        return gettext(text)
