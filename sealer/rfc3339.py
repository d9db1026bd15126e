"""RFC 3339 times, as Kubernetes writes them (``2026-01-31T09:30:00Z``).

The one parser for the tree: key Secrets' ``creationTimestamp``, the controller's
``--key-cutoff-time``, and kopf's peering records.

Accepted: ``YYYY-MM-DD``, ``T`` (or ``t`` or a space, as RFC 3339 allows), ``hh:mm:ss``, an
optional fraction of any length (cut to microseconds), then ``Z`` (or ``z``) or ``±hh:mm``.
Without an offset the time is read as UTC: kopf writes its peering records that way. Nothing
else of ISO 8601 (a date alone, week dates, the basic format without separators) is accepted.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["parse_rfc3339"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)


def parse_rfc3339(text: str) -> dt.datetime:
    """An aware datetime; ValueError (whose message does not quote ``text``) if it is not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, _, sign, off_hours, off_minutes = match.groups()[6:]
    micro = int((fraction or "").ljust(6, "0")[:6])
    offset = dt.timedelta()
    if sign is not None:
        if int(off_hours) > 23 or int(off_minutes) > 59:
            raise ValueError("not an RFC 3339 time: the offset is out of range")
        offset = dt.timedelta(hours=int(off_hours), minutes=int(off_minutes))
        offset = -offset if sign == "-" else offset
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, dt.timezone(offset))
    except ValueError:
        raise ValueError("not an RFC 3339 time: a field is out of range") from None
