"""CSV cells a spreadsheet opens safely: text it would run as a formula (a name typed as
"=HYPERLINK(...)") is written as text, as OWASP advises for CSV injection. Every CSV of
people's names (the program's reports, the audit trail) writes its cells through this."""

from __future__ import annotations

from typing import TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def spreadsheet_cell(value: T) -> T | str:
    """The value, or a text that starts like a formula with a quote in front."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
