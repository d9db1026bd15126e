"""Kubernetes JSONPath templates (``kubectl -o jsonpath``), for the ``jsonPath`` modifier.

Pure. Supports what secrets need: text outside braces, quoted literals (``{':'}``), ``$``,
``.name``, ``['na.me']``, ``[N]`` (negative counts from the end), ``[a:b]``, ``[*]`` and ``.*``.
Several results of one expression are joined with spaces, as kubectl prints them. Recursive
descent, filters and ``range`` are refused with a :class:`ModifierError` rather than guessed.
A key that is missing is an error (kubectl's ``allowMissingKeys=false``), naming the key only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sealer.render.errors import ModifierError

__all__ = ["evaluate"]

_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_SLICE = re.compile(r"(-?[0-9]*):(-?[0-9]*)")


def evaluate(template: str, data: Any) -> str:
    """Render ``template`` over ``data`` (already parsed JSON)."""
    out: list[str] = []
    position = 0
    while position < len(template):
        start = template.find("{", position)
        if start < 0:
            out.append(template[position:])
            break
        out.append(template[position:start])
        end = _closing(template, start)
        out.append(_expression(template[start + 1 : end].strip(), data))
        position = end + 1
    return "".join(out)


def _closing(template: str, start: int) -> int:
    quote = ""
    for index in range(start + 1, len(template)):
        char = template[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "}":
            return index
    raise ModifierError(f"jsonPath: unclosed '{{' at character {start + 1}")


def _expression(expr: str, data: Any) -> str:
    if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
        return expr[1:-1]
    if expr.startswith(("range", "end")) or ".." in expr or "?(" in expr:
        raise ModifierError("jsonPath: recursive descent, filters and range are not supported")
    values = _walk(expr, [data])
    return " ".join(_text(value) for value in values)


def _walk(expr: str, current: list[Any]) -> list[Any]:
    index = 1 if expr.startswith("$") else 0
    if index == 0 and expr and expr[0] not in ".[":
        raise ModifierError("jsonPath: an expression starts with '.', '[' or '$'")
    while index < len(expr):
        char = expr[index]
        if char == ".":
            index += 1
            if expr[index : index + 1] == "*":
                current, index = _children(current), index + 1
                continue
            match = _NAME.match(expr, index)
            if match is None:
                if index == len(expr):
                    break  # "{.}" is the whole document
                raise ModifierError(f"jsonPath: bad name at character {index + 1}")
            current, index = _field(current, match.group(0)), match.end()
        elif char == "[":
            end = expr.find("]", index)
            if end < 0:
                raise ModifierError(f"jsonPath: unclosed '[' at character {index + 1}")
            current, index = _bracket(current, expr[index + 1 : end].strip()), end + 1
        else:
            raise ModifierError(f"jsonPath: unexpected {char!r} at character {index + 1}")
    return current


def _bracket(current: list[Any], inner: str) -> list[Any]:
    if inner == "*":
        return _children(current)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _field(current, inner[1:-1])
    if re.fullmatch(r"-?[0-9]+", inner):
        return [_item(value, int(inner)) for value in current]
    slice_match = _SLICE.fullmatch(inner)
    if slice_match:
        low, high = (int(x) if x else None for x in slice_match.groups())
        result: list[Any] = []
        for value in current:
            if not isinstance(value, list):
                raise ModifierError("jsonPath: a slice applies to a list")
            result.extend(value[low:high])
        return result
    raise ModifierError("jsonPath: unsupported subscript (use a name, a number, a slice or *)")


def _field(current: list[Any], name: str) -> list[Any]:
    result = []
    for value in current:
        if not isinstance(value, dict) or name not in value:
            raise ModifierError(f"jsonPath: {name!r} is not found")
        result.append(value[name])
    return result


def _item(value: Any, number: int) -> Any:
    if not isinstance(value, list):
        raise ModifierError("jsonPath: an index applies to a list")
    if not -len(value) <= number < len(value):
        raise ModifierError(f"jsonPath: index {number} is out of range")
    return value[number]


def _children(current: list[Any]) -> list[Any]:
    result: list[Any] = []
    for value in current:
        if isinstance(value, dict):
            result.extend(value.values())
        elif isinstance(value, list):
            result.extend(value)
    return result


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return "" if value is None else str(value)
