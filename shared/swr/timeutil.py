"""Time at the edge: every timestamp read from a server or a store becomes an aware UTC datetime here, and
arithmetic on them saturates at the ends of the calendar instead of raising.

- A value without a zone is UTC (SWR and IAM speak UTC), never the machine's local time.
- ISO 8601 as servers send it: ``T`` or a space, any number of fraction digits, ``Z``, ``±HH:MM``, ``±HHMM``,
  ``±HH``; also epoch numbers (seconds, or milliseconds when larger than :data:`_MS_THRESHOLD`).
- A value that cannot be read is ``None`` (the time is unknown), never an exception: one bad date must not
  sink a whole page or run.
- Year 1 with a positive offset, or year 9999 plus a day, would overflow: the result is clamped to
  :data:`MIN_UTC` / :data:`MAX_UTC`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.lazyre import lazy

MIN_UTC = datetime.min.replace(tzinfo=timezone.utc)
MAX_UTC = datetime.max.replace(tzinfo=timezone.utc)
_MS_THRESHOLD = 1e11  # 1e11 s is the year 5138; a larger epoch number is in milliseconds
_ISO = lazy(
    r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9})\d*)?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d\d(?::?\d\d)?)?"
)


def to_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive one is read as UTC); clamped at the calendar's ends."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # year 1 at +01:00, year 9999 at -01:00
        return MIN_UTC if value.year < 5000 else MAX_UTC


def add(value: datetime, delta: timedelta | float) -> datetime:
    """``value + delta`` (a timedelta or seconds), clamped at the calendar's ends instead of raising."""
    try:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
    except OverflowError:
        return MAX_UTC if float(delta) > 0 else MIN_UTC  # type: ignore[arg-type]
    try:
        return value + step
    except OverflowError:
        end = MAX_UTC if step > timedelta(0) else MIN_UTC
        return end if value.tzinfo is not None else end.replace(tzinfo=None)


def from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000.0 if abs(number) > _MS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return MAX_UTC if seconds > 0 else MIN_UTC


def parse(value: Any) -> datetime | None:
    """A timestamp from a server or a store as an aware UTC datetime; ``None`` if it cannot be read."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, (int, float)):
        return from_epoch(float(value))
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return from_epoch(float(text))
    match = _ISO.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:  # month 13, day 32, hour 24, year 0...
        return None
    if zone in (None, "Z", "z", "UTC", "GMT"):
        return naive.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    return to_utc(naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes))))
