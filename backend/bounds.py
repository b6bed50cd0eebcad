"""The range of ids, dates and instants the system accepts as input.

Ids are 64-bit: a bigger number cannot name a row, and SQLite refuses to even compare
with one (OverflowError). Dates and instants stay within 1900..2200: wide enough for any
real record, narrow enough that date arithmetic (an end date 90 days on, the start of a
week) and the conversion of an offset to UTC never leave Python's years 1..9999.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

MAX_ID = 2**63 - 1
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
DATE_RANGE_MESSAGE = f"Must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."


def id_text_in_range(raw: str) -> bool:
    """A typed id: ASCII digits naming a 64-bit row id (not "٣", not 2**64)."""
    # The length first: int() refuses strings of over 4300 digits (ValueError).
    return (
        len(raw) <= len(str(MAX_ID)) and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID
    )


def date_in_range(value: date) -> bool:
    if isinstance(value, datetime):
        return instant_in_range(value)
    return EARLIEST_DATE <= value <= LATEST_DATE


def instant_in_range(value: datetime) -> bool:
    """An aware instant whose UTC date is in range (a naive one is read as UTC)."""
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:  # 9999-12-31T23:59-14:00 has no UTC date
        return False
    return EARLIEST_DATE <= utc.date() <= LATEST_DATE
