"""A renderer for the Helm chart's Go templates, for the unit tests (no helm binary here).

It implements the part of Go's text/template and of Sprig that ``deploy/helm/sealops`` uses, with
Go's semantics: ``{{-``/``-}}`` trim whitespace; ``if``, ``with``, ``range``, ``define``, ``end``;
pipelines (``a | b`` passes ``a`` as b's last argument) and parenthesised sub-pipelines;
``.Values``/``.Release``/``.Chart`` fields relative to dot; ``include``; and the functions in
``FUNCTIONS``. Anything else (``else``, variables, other functions) raises
:class:`Unsupported`, so a template that grows past this subset fails the tests loudly instead of
rendering wrongly; that is the moment to render with Helm itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Chart", "Unsupported", "render_text"]

ACTION = re.compile(r"\{\{(-\s+)?(.*?)(\s+-)?\}\}", re.S)
TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+)|(?P<field>(?:\.[A-Za-z_]\w*)+|\.)'
    r"|(?P<ident>[A-Za-z_]\w*)|(?P<punct>[()|]))"
)


class Unsupported(ValueError):
    """Template syntax outside the subset this renderer implements."""


# A term: ("lit", value) | ("field", names) | ("func", name) | ("pipe", commands).
Term = tuple[str, Any]
Command = list[Term]
Pipeline = list[Command]


@dataclass
class Block:
    kind: str  # if | with | range | define
    pipeline: Pipeline
    body: list[Node] = field(default_factory=list)


Node = str | Pipeline | Block


def _lex(text: str) -> list[tuple[bool, str]]:
    """(is_action, text) pieces, with Go's whitespace trimming applied."""
    pieces: list[tuple[bool, str]] = []
    trim_next = False
    position = 0
    for match in ACTION.finditer(text):
        before = text[position : match.start()]
        if trim_next:
            before = before.lstrip()
        if match.group(1):
            before = before.rstrip()
        pieces.append((False, before))
        pieces.append((True, match.group(2).strip()))
        trim_next = bool(match.group(3))
        position = match.end()
    rest = text[position:]
    pieces.append((False, rest.lstrip() if trim_next else rest))
    return pieces


def _tokens(source: str) -> list[tuple[str, str]]:
    out, position = [], 0
    source = source.rstrip()
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise Unsupported(f"cannot read {source[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _pipeline(tokens: list[tuple[str, str]], start: int = 0) -> tuple[Pipeline, int]:
    commands: Pipeline = [[]]
    index = start
    while index < len(tokens):
        kind, text = tokens[index]
        if (kind, text) == ("punct", ")"):
            break
        if (kind, text) == ("punct", "|"):
            commands.append([])
        elif (kind, text) == ("punct", "("):
            inner, index = _pipeline(tokens, index + 1)
            commands[-1].append(("pipe", inner))
        elif kind == "str":
            commands[-1].append(("lit", json.loads(text)))
        elif kind == "num":
            commands[-1].append(("lit", int(text)))
        elif kind == "field":
            commands[-1].append(("field", [n for n in text.split(".") if n]))
        elif text not in KNOWN:
            raise Unsupported(f"function {text!r}")
        else:
            commands[-1].append(("func", text))
        index += 1
    if any(not command for command in commands):
        raise Unsupported("an empty command in a pipeline")
    return commands, index


def _parse_pipeline(source: str) -> Pipeline:
    if "$" in source or ":=" in source:
        raise Unsupported(f"variables: {source!r}")
    pipeline, end = _pipeline(_tokens(source))
    if end != len(_tokens(source)):
        raise Unsupported(f"unbalanced ')' in {source!r}")
    return pipeline


def parse(text: str) -> tuple[list[Node], dict[str, list[Node]]]:
    """A template's nodes and the templates it defines."""
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    defines: dict[str, list[Node]] = {}
    for is_action, piece in _lex(text):
        if not is_action:
            if piece:
                stack[-1].append(piece)
            continue
        if piece.startswith("/*"):
            continue
        word, _, rest = piece.partition(" ")
        if word in ("if", "with", "range"):
            block = Block(word, _parse_pipeline(rest))
            stack[-1].append(block)
            stack.append(block.body)
        elif word == "define":
            body: list[Node] = []
            defines[json.loads(rest.strip())] = body
            stack.append(body)
        elif word == "end":
            if len(stack) == 1:
                raise Unsupported("an end without a block")
            stack.pop()
        elif word in ("else", "template", "block", "break", "continue"):
            raise Unsupported(f"action {word!r}")
        else:
            stack[-1].append(_parse_pipeline(piece))
    if len(stack) != 1:
        raise Unsupported("a block without its end")
    return root, defines


def _empty(value: Any) -> bool:
    """Go's truth: false, 0, nil and empty strings, lists and maps are empty."""
    return value is None or value is False or value == 0 or value in ("", [], {})


def _quote(value: Any) -> str:
    return json.dumps("" if value is None else _text(value))


def _to_yaml(value: Any) -> str:
    # Helm marshals through JSON (keys sorted) and trims the final newline.
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _nindent(width: int, text: str) -> str:
    pad = " " * width
    return "\n" + pad + text.replace("\n", "\n" + pad)


def _and(*values: Any) -> Any:
    for value in values:
        if _empty(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if not _empty(value):
            return value
    return values[-1]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "default": lambda fallback, value=None: fallback if _empty(value) else value,
    "quote": _quote,
    "trunc": lambda n, s: _text(s)[:n],
    "trimSuffix": lambda suffix, s: _text(s).removesuffix(suffix),
    "printf": lambda fmt, *args: fmt.replace("%s", "{}").format(*map(_text, args)),
    "replace": lambda old, new, s: _text(s).replace(old, new),
    "nindent": _nindent,
    "toYaml": _to_yaml,
    "int": lambda v: int(v or 0),
    "gt": lambda a, b: a > b,
    "ne": lambda a, b: a != b,
    "and": _and,
    "or": _or,
    "not": lambda v: _empty(v),
}
KNOWN = {*FUNCTIONS, "include"}  # include needs the chart's templates: see Chart._call


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Unsupported(f"printing a {type(value).__name__} (use toYaml)")


@dataclass
class Chart:
    """A chart folder: its templates, parsed, and ``Chart.yaml``/``values.yaml``."""

    path: Path
    templates: dict[str, list[Node]] = field(default_factory=dict)
    defines: dict[str, list[Node]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for template in sorted((self.path / "templates").iterdir()):
            nodes, defines = parse(template.read_text())
            self.defines.update(defines)
            if not template.name.startswith("_") and template.suffix == ".yaml":
                self.templates[template.name] = nodes

    def render(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        release: str = "sealops",
        namespace: str = "sealops-system",
    ) -> dict[str, str]:
        """Each manifest template's output, as ``helm template RELEASE -n NAMESPACE`` would."""
        meta = yaml.safe_load((self.path / "Chart.yaml").read_text())
        values = self.values(overrides)
        dot = {
            "Values": values,
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
            "Chart": {"Name": meta["name"], "Version": meta["version"],
                      "AppVersion": meta["appVersion"]},
        }  # fmt: skip
        return {name: self._nodes(nodes, dot) for name, nodes in self.templates.items()}

    def values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """values.yaml with ``overrides`` merged in, as ``--set`` does."""
        defaults = yaml.safe_load((self.path / "values.yaml").read_text())
        return dict(_merged(defaults, overrides or {}))

    def manifests(self, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [
            doc
            for text in self.render(overrides).values()
            for doc in yaml.safe_load_all(text)
            if doc
        ]

    def _nodes(self, nodes: list[Node], dot: Any) -> str:
        out = []
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Block):
                out.append(self._block(node, dot))
            else:
                out.append(_text(self._pipe(node, dot)))
        return "".join(out)

    def _block(self, block: Block, dot: Any) -> str:
        value = self._pipe(block.pipeline, dot)
        if _empty(value):
            return ""
        if block.kind == "if":
            return self._nodes(block.body, dot)
        if block.kind == "with":
            return self._nodes(block.body, value)
        items = [value[k] for k in sorted(value)] if isinstance(value, dict) else list(value)
        return "".join(self._nodes(block.body, item) for item in items)

    def _pipe(self, pipeline: Pipeline, dot: Any) -> Any:
        result: Any = None
        for position, (head, *args) in enumerate(pipeline):
            if head[0] != "func":
                if args or position:
                    raise Unsupported("a value cannot take arguments")
                result = self._term(head, dot)
                continue
            argv = [self._term(a, dot) for a in args] + ([result] if position else [])
            result = self._call(head[1], argv)
        return result

    def _term(self, term: Term, dot: Any) -> Any:
        kind, value = term
        if kind == "lit":
            return value
        if kind == "pipe":
            return self._pipe(value, dot)
        if kind == "func":
            return self._call(value, [])
        current = dot
        for name in value:
            current = current.get(name) if isinstance(current, dict) else None
        return current

    def _call(self, name: str, argv: list[Any]) -> Any:
        if name == "include":
            template, data = argv
            return self._nodes(self.defines[template], data)
        return FUNCTIONS[name](*argv)


def render_text(text: str, dot: Any, defines: Mapping[str, str] | None = None) -> str:
    """Render one template string (with ``defines`` as other files' templates), for tests."""
    chart = Chart.__new__(Chart)
    chart.templates, chart.defines = {}, {}
    for source in (defines or {}).values():
        chart.defines.update(parse(source)[1])
    nodes, own = parse(text)
    chart.defines.update(own)
    return chart._nodes(nodes, dot)


def _merged(base: Any, overrides: Mapping[str, Any]) -> Any:
    """``--set``-style: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out
