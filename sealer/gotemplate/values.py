"""Go values as the engine holds them, and how Go prints them with ``%v``.

A Go ``string`` is a ``str`` (bytes beyond UTF-8 as surrogate escapes), ``int`` an ``int``
(:class:`Int64` where Sprig returns ``int64``), ``float64`` a ``float``, ``bool`` a ``bool``,
``nil`` ``None``; ``[]interface{}`` a ``list``; ``map[string]interface{}`` a ``dict``; and
``map[string]string`` (the decrypted values Bitnami's controller passes as dot, and what Sprig's
``split`` returns) a :class:`StrMap`. :data:`NO_VALUE` is Go's invalid ``reflect.Value``: a key
that a map does not hold, printed ``<no value>`` by an action.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sealer.templating.budget import current_budget

__all__ = [
    "NO_VALUE",
    "Int64",
    "NoValue",
    "StrMap",
    "go_float",
    "go_str",
    "go_type",
    "nil_if_missing",
    "shown",
    "truth",
]


class NoValue:
    """Go's invalid ``reflect.Value`` (the result of a missing key)."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = NoValue()


class Int64(int):
    """An ``int64`` (what Sprig's arithmetic returns); prints as an ``int``."""


class StrMap(dict[str, str]):
    """A Go ``map[string]string``: Sprig's ``map[string]interface{}`` functions refuse it."""


def nil_if_missing(value: object) -> object:
    """A missing value passed to a function: Go passes ``nil`` for an ``interface{}``."""
    return None if value is NO_VALUE else value


def go_type(value: object) -> str:
    """The Go type name ``fmt`` shows in ``%!d(string=…)``."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, StrMap):
        return "map[string]string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "[]string" if isinstance(value, tuple) else "[]interface {}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest digits that read back as ``abs(value)``, and the power of ten of the first."""
    if value == 0:
        return "0", 0
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    stripped = text.lstrip("0")
    return stripped.rstrip("0") or "0", exponent + len(text) - 1 - (len(text) - len(stripped))


def go_float(value: float, *, json: bool = False) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 64)`` (``%v``), or the JSON form of ``json``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    digits, exp = _shortest(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if json:
        use_e = value != 0 and (abs(value) < 1e-6 or abs(value) >= 1e21)
    else:
        use_e = exp < -4 or exp >= 6  # strconv's shortest 'g' decides at precision 6
    if use_e:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent = f"{abs(exp):02d}" if not json else str(abs(exp))
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{exponent}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if exp + 1 >= len(digits):
        return f"{sign}{digits}{'0' * (exp + 1 - len(digits))}"
    return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"


def go_str(value: object) -> str:
    """``fmt.Sprint(value)``: the ``%v`` form."""
    if isinstance(value, str):
        return value
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _key_order(kv[0]))
        return "map[" + _joined(f"{go_str(k)}:{go_str(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + _joined(go_str(v) for v in value) + "]"
    return "<unknown>"


def _joined(parts: Iterable[str]) -> str:
    """Parts joined by spaces; each is a step, and the text is bounded as it grows (a map that
    ``set`` filled with itself would otherwise print without end)."""
    budget = current_budget()
    out: list[str] = []
    size = 0
    for part in parts:
        budget.step()
        size += len(part) + 1
        budget.check_length(size)
        out.append(part)
    return " ".join(out)


def _key_order(key: Any) -> tuple[int, Any]:
    return (0, key.encode("utf-8", "surrogateescape")) if isinstance(key, str) else (1, key)


def shown(value: object) -> str:
    """What an action ``{{ … }}`` writes for ``value``: ``<no value>`` for nil or missing."""
    if value is None or value is NO_VALUE:
        return "<no value>"
    return go_str(value)


def truth(value: object) -> bool:
    """Go's ``template.IsTrue``: empty strings, lists, maps, zero, false, nil are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    if isinstance(value, bool | int | float):
        return bool(value)
    return True
