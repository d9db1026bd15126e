"""The YAML of ``seal check``: node trees built without recursion, and reading them.

:func:`compose` turns a document into nodes without constructing anything, so aliases cost
nothing and no nesting depth can crash it; the accessors (:func:`first`, :func:`all_values`,
:func:`scalar`, :func:`entries`, :func:`items`) see every duplicate key and follow ``<<``
merge keys, as kubectl's parser does. :func:`neutralize` reads a Helm template as YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from sealer.plaintext import fills_generic

__all__ = [
    "AVP_PATH",
    "NULL",
    "Problem",
    "all_values",
    "compose",
    "entries",
    "first",
    "has_avp_path",
    "items",
    "neutralize",
    "scalar",
]

AVP_PATH = "avp.kubernetes.io/path"
NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_TEMPLATE_ONLY = re.compile(r"^\s*(?:(?:\{\{.*?\}\}|\{%.*?%\})\s*)+$")


@dataclass
class Problem:
    line: int  # 0-based, in the text parsed
    reason: str


# libyaml's parser where PyYAML has it (about 20 times faster); either way only its events are
# used, and the nodes are built here without recursion, so no nesting depth can crash it.
_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER: Any = yaml.resolver.Resolver()


class _AliasProblem(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def compose(text: str, parser: Any = _PARSER) -> tuple[list[yaml.Node], Problem | None]:
    """The documents' node trees (nothing is constructed, so aliases cost nothing), and the
    first problem: a reason built from the parser's fixed wording only, never from the input."""
    nodes: list[yaml.Node] = []
    loader: Any = None
    try:
        loader = parser(text)
        _build(loader, nodes)
    except yaml.reader.ReaderError as exc:
        if isinstance(loader, yaml.SafeLoader):  # a character offset
            line = text.count("\n", 0, exc.position)
        else:  # libyaml: a byte offset in UTF-8
            line = text.encode("utf-8", "replace")[: exc.position].count(b"\n")
        return nodes, Problem(line, "a character YAML does not allow, such as NUL")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        words = exc.problem or "syntax error"
        reason = re.split("['\"]", words, maxsplit=1)[0].strip()  # what follows quotes input
        if reason != words.strip():
            reason = f"{reason} …"
        return nodes, Problem(mark.line if mark else 0, reason or "syntax error")
    except _AliasProblem as exc:
        return nodes, Problem(exc.line, "an alias to an undefined anchor")
    except yaml.YAMLError:
        return nodes, Problem(0, "not YAML")
    finally:
        if loader is not None:
            loader.dispose()
    return nodes, None


def _build(loader: Any, roots: list[yaml.Node]) -> None:
    """Nodes from parser events, as PyYAML's composer makes them, but with a stack of its own."""
    stack: list[list[Any]] = []  # [collection node, pending mapping key or None]
    anchors: dict[str, yaml.Node] = {}
    while True:
        event = loader.get_event()
        ev: Any = event  # attributes untyped: PyYAML's and libyaml's events differ in stubs
        node: yaml.Node
        if isinstance(event, yaml.StreamEndEvent):
            return
        if isinstance(event, yaml.DocumentStartEvent):
            anchors = {}
            continue
        if isinstance(event, yaml.AliasEvent):
            found = anchors.get(ev.anchor)
            if found is None:
                raise _AliasProblem(ev.start_mark.line)
            node = found
        elif isinstance(event, yaml.ScalarEvent):
            tag = ev.tag
            if tag in (None, "!"):
                tag = _RESOLVER.resolve(yaml.ScalarNode, ev.value, ev.implicit)
            node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            sequence = isinstance(event, yaml.SequenceStartEvent)
            cls = yaml.SequenceNode if sequence else yaml.MappingNode
            tag = ev.tag
            if tag in (None, "!"):
                tag = _RESOLVER.resolve(cls, None, ev.implicit)
            collection = cls(tag, [], ev.start_mark, ev.end_mark)
            if ev.anchor is not None:
                anchors[ev.anchor] = collection
            stack.append([collection, None])
            continue
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            node = stack.pop()[0]
            node.end_mark = ev.end_mark
        else:
            continue  # stream start, document end
        if isinstance(event, yaml.ScalarEvent) and ev.anchor is not None:
            anchors[ev.anchor] = node
        if not stack:
            roots.append(node)
        elif isinstance(stack[-1][0], yaml.SequenceNode):
            stack[-1][0].value.append(node)
        elif stack[-1][1] is None:
            stack[-1][1] = node
        else:
            stack[-1][0].value.append((stack[-1][1], node))
            stack[-1][1] = None


def neutralize(lines: Iterable[str]) -> str:
    """A Helm-style template as YAML: lines that are only template actions are emptied and
    each other ``{{ … }}`` becomes a placeholder. Line numbers are kept."""
    out = []
    for line in lines:
        if _TEMPLATE_ONLY.match(line):
            out.append("")
        else:
            out.append(_EXPRESSION.sub("<path:template>", line))
    return "\n".join(out)


def first(node: yaml.Node | None, key: str) -> yaml.Node | None:
    found = all_values(node, key)
    return found[0] if found else None


def all_values(
    node: yaml.Node | None, key: str, seen: frozenset[int] = frozenset()
) -> list[yaml.Node]:
    """Every value of ``key``: a duplicate key hides nothing, nor does a ``<<`` merge key
    (kubectl's parser applies them), whose values come after the mapping's own."""
    if not isinstance(node, yaml.MappingNode) or id(node) in seen:
        return []
    seen = seen | {id(node)}  # an alias may merge a mapping into itself
    own, merged = [], []
    for key_node, value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value == key:
            own.append(value)
        elif key_node.tag == _MERGE:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                merged += all_values(source, key, seen)
    return own + merged


def scalar(node: yaml.Node | None, key: str) -> str | None:
    value = first(node, key)
    if isinstance(value, yaml.ScalarNode) and value.tag != NULL:
        return str(value.value)
    return None


def has_avp_path(meta: yaml.Node | None) -> bool:
    return fills_generic(scalar(first(meta, "annotations"), AVP_PATH))


def entries(
    node: yaml.Node | None, section: str, start: int
) -> Iterator[tuple[str, int, yaml.Node]]:
    for mapping in all_values(node, section):
        if not isinstance(mapping, yaml.MappingNode):
            continue
        for key_node, value in mapping.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            yield str(key), start + key_node.start_mark.line + 1, value


def items(node: yaml.Node | None, key: str, start: int) -> Iterator[tuple[int, str, int]]:
    """A list of strings (or one string): index, text, line."""
    for value in all_values(node, key):
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for index, item in enumerate(items):
            if isinstance(item, yaml.ScalarNode) and item.tag != NULL:
                yield index, str(item.value), start + item.start_mark.line + 1
