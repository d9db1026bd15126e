"""Kubernetes JSONPath templates (``kubectl -o jsonpath``), for the ``jsonPath`` modifier.

Pure. argocd-vault-plugin evaluates these with ``k8s.io/client-go/util/jsonpath``; this follows
its rules for what secrets need: text outside braces, quoted literals (``{':'}``), ``$`` and
``@`` (the current object), ``.name``, ``['na.me']``, ``[N]`` (negative counts from the end),
``[a:b]`` and ``[a:b:step]`` (out of bounds is an error, as there), ``[*]``, ``.*``, and
``{range EXPR}…{end}`` blocks (nested too), whose body runs once per result with ``@`` bound to
it. Several results of one expression are joined with spaces, as kubectl prints them; objects
and lists print as compact JSON. Recursive descent and filters are refused with a
:class:`ModifierError` rather than guessed. A key that is missing is an error (kubectl's
``allowMissingKeys=false``), naming the key only.

Cost is bounded, whatever the value and the template: at most :data:`MAX_STEPS` expressions and
``{range}`` passes (nested ranges multiply) and a result of at most :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sealer.render.errors import ModifierError

__all__ = ["MAX_OUTPUT", "MAX_STEPS", "evaluate"]

#: Expressions evaluated plus ``{range}`` passes made, in one template.
MAX_STEPS = 100_000
#: Characters one template may make (``indent``'s bound).
MAX_OUTPUT = 16 * 1024 * 1024

_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_SLICE = re.compile(r"(-?[0-9]*):(-?[0-9]*)(?::(-?[0-9]*))?")


@dataclass
class _Node:
    kind: str  # "text" | "expr" | "range"
    text: str
    body: list[_Node] = field(default_factory=list)


@dataclass
class _Run:
    steps: int = 0
    size: int = 0
    out: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise ModifierError(f"jsonPath: the result would pass {MAX_OUTPUT // 2**20} MiB")
        self.out.append(text)

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ModifierError(f"jsonPath: the template takes more than {MAX_STEPS} steps")


def evaluate(template: str, data: Any) -> str:
    """Render ``template`` over ``data`` (already parsed JSON)."""
    run = _Run()
    _execute(_parse(template), data, run)
    return "".join(run.out)


def _parse(template: str) -> list[_Node]:
    root: list[_Node] = []
    stack = [root]
    position = 0
    while position < len(template):
        start = template.find("{", position)
        if start < 0:
            stack[-1].append(_Node("text", template[position:]))
            break
        if start > position:
            stack[-1].append(_Node("text", template[position:start]))
        end = _closing(template, start)
        expr = template[start + 1 : end].strip()
        position = end + 1
        if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
            stack[-1].append(_Node("text", expr[1:-1]))
        elif expr == "end":
            if len(stack) == 1:
                raise ModifierError("jsonPath: {end} without {range}")
            stack.pop()
        elif re.match(r"range\s", expr):
            node = _Node("range", expr[5:].strip())
            stack[-1].append(node)
            stack.append(node.body)
        else:
            stack[-1].append(_Node("expr", expr))
    if len(stack) > 1:
        raise ModifierError("jsonPath: {range} without {end}")
    return root


def _execute(nodes: list[_Node], data: Any, run: _Run) -> None:
    for node in nodes:
        if node.kind == "text":
            run.write(node.text)
            continue
        run.step()
        values = _values(node.text, data)
        if node.kind == "expr":
            run.write(" ".join(_text(value) for value in values))
        else:
            for value in values:
                run.step()  # each pass counts, so an empty body cannot loop for free
                _execute(node.body, value, run)


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


def _values(expr: str, data: Any) -> list[Any]:
    if ".." in expr or "?(" in expr:
        raise ModifierError("jsonPath: recursive descent and filters are not supported")
    return _walk(expr, [data])


def _walk(expr: str, current: list[Any]) -> list[Any]:
    index = 1 if expr.startswith(("$", "@")) else 0
    if index == 0 and expr and expr[0] not in ".[":
        raise ModifierError("jsonPath: an expression starts with '.', '[', '@' or '$'")
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
        low, high, step = (int(x) if x else None for x in slice_match.groups())
        result: list[Any] = []
        for value in current:
            result.extend(_slice(value, low, high, step))
        return result
    raise ModifierError("jsonPath: unsupported subscript (use a name, a number, a slice or *)")


def _slice(value: Any, low: int | None, high: int | None, step: int | None) -> list[Any]:
    """client-go's ``[low:high:step]``: negative bounds count from the end, out of bounds is an
    error (unless the slice is empty), and a step must be positive."""
    if not isinstance(value, list):
        raise ModifierError("jsonPath: a slice applies to a list")
    length = len(value)
    start = 0 if low is None else low + length if low < 0 else low
    stop = length if high is None else high + length if high < 0 else high
    if start == stop:
        return []
    if not 0 <= start < length or not 0 <= stop <= length:
        raise ModifierError(f"jsonPath: slice [{low}:{high}] is out of range")
    if start > stop:
        raise ModifierError(f"jsonPath: slice [{low}:{high}] starts after it ends")
    if step is not None and step <= 0:
        raise ModifierError("jsonPath: a slice's step must be > 0")
    return value[start : stop : step or 1]


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
