"""A Secret read from the text of a document that does not parse as YAML.

``seal check`` fails closed on such a document (unless it is allowed), but still reads what it
can: a ``kind: Secret`` document's ``data`` and ``stringData`` entries, found by indentation
(block and flow style, block scalars too), are judged like parsed ones. ``{{ }}`` expressions
count as references here: a document that does not parse is a template more often than not.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sealer.check.nodes import AVP_PATH
from sealer.check.state import FileScan, shown_name
from sealer.check.values import flow_entries, unquote
from sealer.plaintext import plaintext_reason

__all__ = ["textual_scan"]

_KIND_SECRET = re.compile(r"""^\s*kind:\s*["']?Secret["']?\s*(?:#.*)?$""")
_SECTION = re.compile(r"^(\s*)(stringData|data):\s*(.*?)\s*$")
_ENTRY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[^\s:#"'{}][^:#]*?):(?:\s+(.*?))?\s*$""")
_TEXT_NAME = re.compile(r"""^\s+name:\s*["']?([^"'\s#]+)""")

#: Judges one entry: (line number, key, value as written).
_Judge = Callable[[int, str, str], None]


def textual_scan(state: FileScan, start: int, lines: list[str]) -> None:
    """The ``data``/``stringData`` sections of a Secret document, read by indentation."""
    if not any(_KIND_SECRET.match(line) for line in lines):
        return
    generic = any(AVP_PATH in line for line in lines)
    name = next((m.group(1) for line in lines if (m := _TEXT_NAME.match(line))), "?")
    index = 0
    while index < len(lines):
        section = _SECTION.match(lines[index])
        if not section:
            index += 1
            continue
        indent, kind, rest = len(section.group(1)), section.group(2), section.group(3)
        judge = _judge(state, f"plaintext Secret {shown_name(name)}: {kind}", kind, generic)
        if rest.startswith("{"):
            for key, value in flow_entries(rest):
                judge(start + index + 1, key, value)
        index = _block_entries(lines, index + 1, indent, start, judge)


def _judge(state: FileScan, where: str, kind: str, generic: bool) -> _Judge:
    def judge(number: int, key: str, value: str) -> None:
        reason = plaintext_reason(value, generic=generic, encoded=kind == "data", templates=True)
        if reason:
            state.add(
                number, "{where}.{key} {reason} (read as text)", where=where, key=key, reason=reason
            )

    return judge


def _block_entries(lines: list[str], index: int, indent: int, start: int, judge: _Judge) -> int:
    """Judges the entries indented under a section header; returns the index after them."""
    child: int | None = None
    while index < len(lines):
        line = lines[index]
        depth = len(line) - len(line.lstrip())
        if not line.strip() or line.lstrip().startswith(("#", "{{")):
            index += 1
            continue
        if depth <= indent:
            break
        child = depth if child is None else child
        entry = _ENTRY.match(line)
        index += 1
        if depth != child or not entry:
            continue
        key, value = unquote(entry.group(1)), entry.group(2) or ""
        number = start + index
        if value[:1] in ("|", ">"):
            value, index = _block_scalar(lines, index, depth)
        judge(number, key, unquote(value.split(" #", 1)[0].strip()))
    return index


def _block_scalar(lines: list[str], index: int, depth: int) -> tuple[str, int]:
    """The lines of a ``|`` or ``>`` value (indented deeper than its key), stripped."""
    block = []
    while index < len(lines) and (
        not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > depth
    ):
        block.append(lines[index].strip())
        index += 1
    return "\n".join(block), index
