"""One RFC 3339 parser (sealer.rfc3339), and its call sites."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import click
import pytest

from controller.cli import _cutoff
from controller.engines.leader import is_active
from sealer.keys import keys_from_secret
from sealer.rfc3339 import parse_rfc3339


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0, micro: int = 0
) -> dt.datetime:
    """A UTC time."""
    return dt.datetime(year, month, day, hour, minute, sec, micro, tzinfo=dt.UTC)


# (id, text, expected, reason)
GOOD = [
    ("zulu", "2026-01-31T09:30:00Z", at(2026, 1, 31, 9, 30), "as Kubernetes writes it"),
    ("lower-z-and-t", "2026-01-31t09:30:00z", at(2026, 1, 31, 9, 30), "RFC 3339 allows lowercase"),
    ("space", "2026-01-31 09:30:00Z", at(2026, 1, 31, 9, 30), "RFC 3339 allows a space for T"),
    ("plus-offset", "2026-01-31T09:30:00+02:00", at(2026, 1, 31, 7, 30), "two hours ahead"),
    ("minus-offset", "2026-01-31T09:30:00-05:30", at(2026, 1, 31, 15, 0), "half-hour offsets"),
    ("fraction", "2026-01-31T09:30:00.5Z", at(2026, 1, 31, 9, 30, 0, 500000), "one digit"),
    ("micro", "2026-01-31T09:30:00.123456Z", at(2026, 1, 31, 9, 30, 0, 123456), "six digits"),
    ("nano", "2026-01-31T09:30:00.123456789Z", at(2026, 1, 31, 9, 30, 0, 123456), "Go: nine"),
    ("no-offset", "2026-01-31T09:30:00.25", at(2026, 1, 31, 9, 30, 0, 250000), "kopf: UTC"),
    ("leap-day", "2028-02-29T00:00:00Z", at(2028, 2, 29), "a real date"),
]


@pytest.mark.parametrize(
    ("text", "expected", "reason"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD]
)
def test_good(text: str, expected: dt.datetime, reason: str) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected, reason
    assert parsed.tzinfo is not None, "always aware"


# (id, text, reason): fromisoformat accepted the first four (too lax for RFC 3339).
BAD = [
    ("date-only", "2026-01-31", "a date is not a time"),
    ("basic-format", "20260131T093000Z", "ISO 8601's basic format"),
    ("week-date", "2026-W05-6T09:30:00Z", "ISO 8601 week dates"),
    ("no-seconds", "2026-01-31T09:30Z", "seconds are required"),
    ("out-of-range-day", "2026-02-30T00:00:00Z", "no 30 February"),
    ("out-of-range-hour", "2026-01-31T24:00:00Z", "24:00 is not a time of day here"),
    ("leap-second", "2026-12-31T23:59:60Z", "Go refuses them too"),
    ("offset-hours", "2026-01-31T09:30:00+24:00", "offsets stay below a day"),
    ("offset-minutes", "2026-01-31T09:30:00+01:60", "minutes stay below 60"),
    ("offset-no-colon", "2026-01-31T09:30:00+0100", "RFC 3339 offsets have a colon"),
    ("empty-fraction", "2026-01-31T09:30:00.Z", "a dot needs digits"),
    ("trailing", "2026-01-31T09:30:00Z junk", "nothing after the offset"),
    ("leading-space", " 2026-01-31T09:30:00Z", "nothing before the date"),
    ("non-ascii-digits", "２０２６-01-31T09:30:00Z", "ASCII digits only"),
    ("words", "yesterday", "not a time at all"),
]


@pytest.mark.parametrize(("text", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rfc3339(text)
    assert text.strip() not in str(caught.value), "the message never quotes the input"


def test_the_controllers_cutoff_flag() -> None:
    assert _cutoff("2026-01-31T00:00:00Z") == at(2026, 1, 31)
    assert _cutoff(None) is None
    with pytest.raises(click.BadParameter, match="is not an RFC 3339 time"):
        _cutoff("2026-01-31")  # too lax before: fromisoformat took a date alone


def test_a_peers_lastseen() -> None:
    now = at(2026, 1, 31, 12)
    alive = {"b": {"priority": 9, "lifetime": 60, "lastseen": "2026-01-31T11:59:30.5"}}
    dead = {"b": {"priority": 9, "lifetime": 60, "lastseen": "2026-01-31T12:58:00+01:00"}}
    assert not is_active(alive, identity="a", priority=1, now=now), "kopf's offset-less time"
    assert is_active(dead, identity="a", priority=1, now=now), "an offset is honoured"


def test_a_key_secrets_creation_timestamp() -> None:
    pem = (Path(__file__).parents[1] / "data" / "key-2048.pem").read_bytes()
    secret = {
        "kind": "Secret",
        "metadata": {"name": "k", "creationTimestamp": "2026-01-31T09:30:00Z"},
        "data": {"tls.key": base64.b64encode(pem).decode()},
    }
    (pair,) = keys_from_secret(secret, source="test")
    assert pair.created == at(2026, 1, 31, 9, 30)
    secret["metadata"]["creationTimestamp"] = "2026-01-31"  # type: ignore[index]
    (pair,) = keys_from_secret(secret, source="test")
    assert pair.created is None, "an unreadable time is no time (too lax before: midnight)"
