"""How a template function is declared: its Go parameter types, and how arguments are checked.

Each function is a :class:`GoFunc`: the Python callable and the Go types of its parameters
(``any`` for ``interface{}``, ``str``, ``int``, ``int64``, ``float``, ``bool``, ``map`` for
``map[string]interface{}``), so an argument of the wrong type fails as it does in Go, with one
line naming the function and the types, never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sealer.gotemplate import nodes as n
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.values import NO_VALUE, Int64, StrMap, go_type

__all__ = ["GO_TYPES", "GoFunc", "constant", "convert"]

GO_TYPES = {
    "any": "interface {}",
    "str": "string",
    "int": "int",
    "int64": "int64",
    "float": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
}


@dataclass(frozen=True)
class GoFunc:
    fn: Callable[..., object]
    params: tuple[str, ...] = ()
    variadic: str | None = None

    def kind(self, index: int) -> str:
        if index < len(self.params):
            return self.params[index]
        return self.variadic or "any"

    def check_count(self, name: str, count: int) -> None:
        want = len(self.params)
        if count < want or (self.variadic is None and count > want):
            more = " or more" if self.variadic else ""
            raise GoTemplateFailure(f"wrong number of args for {name}: want {want}{more}")


def _matches(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool | Int64)
    if kind == "int64":
        return isinstance(value, Int64)
    if kind == "float":
        return isinstance(value, float)
    return isinstance(value, dict) and not isinstance(value, StrMap)


def convert(value: object, kind: str) -> object:
    """An evaluated argument passed to a parameter of Go type ``kind``, as Go checks it."""
    if kind == "any":
        return None if value is NO_VALUE else value
    if value is None or value is NO_VALUE:
        if kind == "map":
            return {}
        raise GoTemplateFailure(f"invalid value; expected {GO_TYPES[kind]}")
    if not _matches(value, kind):
        raise GoTemplateFailure(
            f"wrong type for value; expected {GO_TYPES[kind]}; got {go_type(value)}"
        )
    return value


def constant(node: n.Bool | n.Number | n.String | n.Nil, kind: str) -> object:
    """A constant of the template passed to a parameter of Go type ``kind``."""
    if isinstance(node, n.Nil):
        if kind in ("any", "map"):
            return None if kind == "any" else {}
        raise GoTemplateFailure(f"cannot assign nil to {GO_TYPES[kind]}")
    if isinstance(node, n.Number):
        if kind in ("int", "int64") and node.integer is not None:
            return node.integer if kind == "int" else Int64(node.integer)
        if kind == "float" and node.real is not None:
            return node.real
        if kind == "any":
            return ideal(node)
        raise GoTemplateFailure(f"expected {GO_TYPES[kind]}; found a number")
    value = node.value
    own_kind = "bool" if isinstance(node, n.Bool) else "str"
    if kind in ("any", own_kind):
        return value
    raise GoTemplateFailure(f"expected {GO_TYPES[kind]}; found {go_type(value)}")


def ideal(node: n.Number) -> object:
    """An untyped number constant, as Go's ``idealConstant`` types it: ``int`` or ``float64``."""
    if node.is_float_text or node.integer is None:
        if node.real is None:
            raise GoTemplateFailure("number constant out of range")
        return node.real
    if not -(2**63) <= node.integer < 2**63:
        raise GoTemplateFailure("number constant overflows int")
    return node.integer
