"""The parse tree of a Go template, as :mod:`sealer.gotemplate.parser` builds it.

One frozen dataclass per node of Go's ``text/template/parse``: the list nodes (text, actions,
``if``/``with``/``range``, ``break``/``continue``, ``template``), the operands of a command, and
the :class:`Tree` of a whole source with its named templates.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Action",
    "Bool",
    "Branch",
    "Break",
    "Chain",
    "Command",
    "Continue",
    "Dot",
    "Field",
    "Ident",
    "Nil",
    "Node",
    "Number",
    "Pipe",
    "Range",
    "String",
    "Template",
    "Text",
    "Tree",
    "Var",
]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Field:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Var:
    name: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dot:
    pass


@dataclass(frozen=True)
class Nil:
    pass


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Number:
    text: str
    integer: int | None  # the value as an int, if it is one
    real: float | None  # the value as a float, if it is one
    is_float_text: bool  # written with a point or an exponent: a float64 when untyped


@dataclass(frozen=True)
class String:
    value: str


@dataclass(frozen=True)
class Ident:
    name: str


@dataclass(frozen=True)
class Chain:
    node: Operand
    names: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    args: tuple[Operand, ...]


@dataclass(frozen=True)
class Pipe:
    line: int
    decls: tuple[str, ...]
    assign: bool  # ``$x = …`` (set an existing variable), not ``$x := …``
    cmds: tuple[Command, ...]


@dataclass(frozen=True)
class Action:
    line: int
    pipe: Pipe


@dataclass(frozen=True)
class Branch:
    """``if`` or ``with`` (``kind``): the body when the pipeline is true, else ``orelse``."""

    kind: str
    line: int
    pipe: Pipe
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]


@dataclass(frozen=True)
class Range:
    line: int
    pipe: Pipe
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]


@dataclass(frozen=True)
class Template:
    """``{{template "name" pipeline}}``: the named template, run with the pipeline as dot."""

    line: int
    name: str
    pipe: Pipe | None


@dataclass(frozen=True)
class Tree:
    """A parsed source: its body, and the templates it defines (``define``, ``block``)."""

    body: tuple[Node, ...]
    defines: tuple[tuple[str, tuple[Node, ...]], ...]


@dataclass(frozen=True)
class Break:
    line: int


@dataclass(frozen=True)
class Continue:
    line: int


Operand = Field | Var | Dot | Nil | Bool | Number | String | Ident | Chain | Pipe
Node = Text | Action | Branch | Range | Break | Continue | Template
