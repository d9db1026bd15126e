"""Parsing the duration flags (``--key-renew-period=720h``, ``refreshInterval: 30m``).

Accepts Go's ``time.ParseDuration`` spellings (``1h30m``, ``720h0m0s``, ``90s``, ``250ms``) as
Bitnami's and ESO's users write them, plus ``d`` for days; a bare number is seconds; ``0`` is off.
"""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``. Raises ``ValueError`` with a one-line reason."""
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"duration {text!r} is negative")
        return float(text)
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    pos, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise ValueError(f"invalid duration {text!r} (examples: 30s, 15m, 1h30m, 720h, 30d, 0)")
    return total
