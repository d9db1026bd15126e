"""Sprig's functions over values (``Masterminds/sprig/v3``): defaults, JSON, lists, dicts,
hashes, numbers and conversions, as Bitnami's controller offers them.

JSON is Go's ``encoding/json``: map keys in order, ``<``, ``>``, ``&``, U+2028 and U+2029
escaped (except by ``toRawJson``), floats as Go writes them. ``keys`` returns the keys in
order (Go returns them in random order: a template that does not sort them renders differently
at each reconcile in Bitnami's controller). Integers wrap at 64 bits as Go's do.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib

from sealer.gotemplate.builtins import go_bytes
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.functions import GoFunc
from sealer.gotemplate.literals import gostr
from sealer.gotemplate.sprig_text import strval
from sealer.gotemplate.values import Int64, go_float, truth
from sealer.templating.budget import current_budget

__all__ = ["DATA", "go_json"]

_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_ESCAPES |= {"\b": "\\b", "\f": "\\f"}


def _json_string(text: str, html: bool) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif code < 0x20 or (html and char in "<>&") or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:  # bytes that are not UTF-8
            out.append("\\ufffd")
        else:
            out.append(char)
    return "".join(out) + '"'


def go_json(value: object, *, html: bool = True, indent: str = "", depth: int = 0) -> str:
    """``json.Marshal`` (``indent``: ``json.MarshalIndent(v, "", indent)``)."""
    current_budget().step()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise GoTemplateFailure("json: unsupported value")
        return go_float(value, json=True)
    if isinstance(value, str):
        return _json_string(value, html)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: go_bytes(str(k)))
        parts = [
            _json_string(str(k), html)
            + (": " if indent else ":")
            + go_json(value[k], html=html, indent=indent, depth=depth + 1)
            for k in keys
        ]
        return _join(parts, "{", "}", indent, depth)
    if isinstance(value, list | tuple):
        parts = [go_json(v, html=html, indent=indent, depth=depth + 1) for v in value]
        return _join(parts, "[", "]", indent, depth)
    raise GoTemplateFailure("json: unsupported type")


def _join(parts: list[str], left: str, right: str, indent: str, depth: int) -> str:
    if not parts:
        return left + right
    if not indent:
        return left + ",".join(parts) + right
    inner = "\n" + indent * (depth + 1)
    return left + inner + ("," + inner).join(parts) + "\n" + indent * depth + right


def _to_json(value: object, html: bool, indent: str) -> str:
    try:
        return go_json(value, html=html, indent=indent)
    except GoTemplateFailure:
        return ""  # Sprig drops the encoder's error and returns ""


def _from_json(text: str) -> object:
    """Sprig's ``fromJson``: the decoded value (numbers as float64), or nil if not JSON."""
    current_budget().check_length(len(text))
    try:
        decoded = json.loads(go_bytes(text), parse_int=float, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return _go_value(decoded)


def _no_constant(_: str) -> float:
    raise ValueError("not JSON")


def _go_value(value: object) -> object:
    if isinstance(value, str):
        return gostr(value.encode("utf-8", "replace"))
    if isinstance(value, dict):
        return {str(k): _go_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_value(v) for v in value]
    return value


def _dict(*values: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for i in range(0, len(values), 2):
        out[strval(values[i])] = values[i + 1] if i + 1 < len(values) else ""
    return out


def _set(target: dict[str, object], key: str, value: object) -> dict[str, object]:
    target[key] = value
    return target


def _unset(target: dict[str, object], key: str) -> dict[str, object]:
    target.pop(key, None)
    return target


def _keys(*maps: dict[str, object]) -> tuple[str, ...]:
    return tuple(sorted({k for m in maps for k in m}, key=go_bytes))


def _sequence(value: object, name: str) -> list[object] | tuple[object, ...]:
    if isinstance(value, list | tuple):
        return value
    raise GoTemplateFailure(f"cannot find {name} on this type")


def _first(value: object) -> object:
    items = _sequence(value, "first")
    return items[0] if items else None


def _last(value: object) -> object:
    items = _sequence(value, "last")
    return items[-1] if items else None


def _has(needle: object, haystack: object) -> bool:
    if haystack is None:
        return False
    return any(type(item) is type(needle) and item == needle for item in _sequence(haystack, "has"))


def _slice(value: object, *indexes: object) -> list[object]:
    """Sprig's ``slice``: a list from ``start`` to ``end`` (strings are refused, as in Sprig)."""
    items = _sequence(value, "slice")
    start = _cast_int(indexes[0]) if indexes else 0
    end = _cast_int(indexes[1]) if len(indexes) > 1 else len(items)
    if not 0 <= start <= end <= len(items):
        raise GoTemplateFailure("slice bounds out of range")
    return list(items[start:end])


def _sort_alpha(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(sorted((strval(v) for v in value if v is not None), key=go_bytes))
    return (strval(value),)


def _wrap(value: int) -> Int64:
    """Go's ``int64`` arithmetic: wraps around at 64 bits."""
    return Int64((value + 2**63) % 2**64 - 2**63)


_GO_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[1-9][0-9_]*|0)")


def _cast_int(value: object) -> int:
    """``cast.ToInt64``: numbers truncated, strings in Go syntax (``0x1f``, ``017``), else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if abs(value) < 2**63 else 0
    if not isinstance(value, str):
        return 0
    text = re.sub(r"\.0*$", "", value) if re.fullmatch(r".*[0-9]\.0*", value) else value
    if not _GO_INT.fullmatch(text) or "__" in text or text.endswith("_"):
        return 0
    digits = text.replace("0o", "0").replace("0O", "0")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    base = 8 if len(digits) > 1 and digits[0] == "0" and digits[1] in "01234567_" else 0
    number = sign * int(digits.replace("_", ""), base or 0)
    return number if -(2**63) <= number < 2**63 else 0


def _atoi(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return 0
    number = int(text)
    return number if -(2**63) <= number < 2**63 else 0


def _float64(value: object) -> float:
    if isinstance(value, str):
        if re.fullmatch(r"[+-]?(?:inf|infinity|nan)", value, re.IGNORECASE):
            return float(value)
        if not re.fullmatch(r"[+-]?(?:[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.)", value):
            return 0.0
        try:
            return float(value)
        except ValueError:
            return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    return 0.0


def _div(a: object, b: object) -> Int64:
    x, y = _cast_int(a), _cast_int(b)
    if y == 0:
        raise GoTemplateFailure("integer divide by zero")
    quotient = abs(x) // abs(y)
    return _wrap(quotient if (x < 0) == (y < 0) else -quotient)


def _mod(a: object, b: object) -> Int64:
    x, y = _cast_int(a), _cast_int(b)
    if y == 0:
        raise GoTemplateFailure("integer divide by zero")
    rest = abs(x) % abs(y)
    return _wrap(rest if x >= 0 else -rest)


def _mul(a: object, *rest: object) -> Int64:
    product = _cast_int(a)
    for value in rest:
        product = int(_wrap(product * _cast_int(value)))
    return _wrap(product)


def _hex(algorithm: str) -> GoFunc:
    return GoFunc(lambda s: hashlib.new(algorithm, go_bytes(s)).hexdigest(), ("str",))


DATA: dict[str, GoFunc] = {
    "add": GoFunc(lambda *v: _wrap(sum(_cast_int(x) for x in v)), (), "any"),
    "add1": GoFunc(lambda v: _wrap(_cast_int(v) + 1), ("any",)),
    "adler32sum": GoFunc(lambda s: str(zlib.adler32(go_bytes(s))), ("str",)),
    "atoi": GoFunc(_atoi, ("str",)),
    "coalesce": GoFunc(lambda *v: next((x for x in v if truth(x)), None), (), "any"),
    "default": GoFunc(lambda d, *g: g[0] if g and truth(g[0]) else d, ("any",), "any"),
    "dict": GoFunc(_dict, (), "any"),
    "div": GoFunc(_div, ("any", "any")),
    "empty": GoFunc(lambda v: not truth(v), ("any",)),
    "first": GoFunc(_first, ("any",)),
    "float64": GoFunc(_float64, ("any",)),
    "fromJson": GoFunc(_from_json, ("str",)),
    "get": GoFunc(lambda d, k: d.get(k, ""), ("map", "str")),
    "has": GoFunc(_has, ("any", "any")),
    "hasKey": GoFunc(lambda d, k: k in d, ("map", "str")),
    "int": GoFunc(_cast_int, ("any",)),
    "int64": GoFunc(lambda v: Int64(_cast_int(v)), ("any",)),
    "keys": GoFunc(_keys, (), "map"),
    "last": GoFunc(_last, ("any",)),
    "list": GoFunc(lambda *v: list(v), (), "any"),
    "max": GoFunc(lambda a, *v: _wrap(max(_cast_int(x) for x in (a, *v))), ("any",), "any"),
    "min": GoFunc(lambda a, *v: _wrap(min(_cast_int(x) for x in (a, *v))), ("any",), "any"),
    "mod": GoFunc(_mod, ("any", "any")),
    "mul": GoFunc(_mul, ("any",), "any"),
    "set": GoFunc(_set, ("map", "str", "any")),
    "sha1sum": _hex("sha1"),
    "sha256sum": _hex("sha256"),
    "slice": GoFunc(_slice, ("any",), "any"),
    "sortAlpha": GoFunc(_sort_alpha, ("any",)),
    "sub": GoFunc(lambda a, b: _wrap(_cast_int(a) - _cast_int(b)), ("any", "any")),
    "ternary": GoFunc(lambda t, f, v: t if v else f, ("any", "any", "bool")),
    "toJson": GoFunc(lambda v: _to_json(v, True, ""), ("any",)),
    "toPrettyJson": GoFunc(lambda v: _to_json(v, True, "  "), ("any",)),
    "toRawJson": GoFunc(lambda v: _to_json(v, False, ""), ("any",)),
    "unset": GoFunc(_unset, ("map", "str")),
}
