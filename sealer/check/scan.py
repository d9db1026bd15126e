"""One file's content, scanned: its documents, the objects in them, and tokens anywhere.

:func:`scan` is pure code over bytes; :mod:`sealer.check.files` reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import yaml

from sealer.check.nodes import compose, first, neutralize, scalar
from sealer.check.objects import check_object, kustomization
from sealer.check.state import FileScan, Finding, Span
from sealer.check.textual import textual_scan
from sealer.detectors import decode, find_tokens, split_lines

__all__ = ["scan"]

_JSON_OBJECT = re.compile(r'"(?:kind|apiVersion|secretGenerator)"\s*:')
_DOC_START = re.compile(r"^---(?:[ \t].*)?$")
_PREAMBLE = re.compile(r"^(?:%.*|\s*(?:#.*)?)$")
_LIST_ITEM = re.compile(r"items\[\d+\]")


def scan(
    path: str,
    content: bytes,
    *,
    allow_unparsable: bool = False,
    template: bool = False,
    read_relative: Callable[[str], bytes | None] | None = None,
) -> list[Finding]:
    """Every problem in one file, in line order.

    ``template``: a Helm chart template; its ``{{ }}`` are placeholders and it is never reported
    as unparsable. ``allow_unparsable``: a YAML file that does not parse is checked as text
    without failing. ``read_relative``: reads a file named relative to this one (for kustomize
    ``secretGenerator`` files); None when it is not in the repository.
    """
    decoded = decode(content)
    lines = split_lines(decoded.text)
    yaml_file = template or path.lower().endswith((".yaml", ".yml"))
    if path.lower().endswith(".json"):  # JSON with comments (tsconfig.json) is common: only a
        yaml_file = bool(_JSON_OBJECT.search(decoded.text))  # Kubernetes object must parse
    state = FileScan(path, read_relative or (lambda _: None), textual=yaml_file)
    if decoded.is_text:
        for start, chunk in _chunks(lines):
            _document(state, start, chunk, template=template)
    elif yaml_file:
        state.problems.append((1, "not text in a known encoding (UTF-8, UTF-16 or UTF-32)"))
        for start, chunk in _chunks(lines):
            textual_scan(state, start, chunk)
    hits = set(find_tokens(state.masked(lines)))
    if decoded.encoding != "utf-8":  # ASCII tokens in the bytes too, NULs dropped (UTF-16/32)
        raw = split_lines(content.decode("latin-1").replace("\0", ""))
        sealed_lines = {
            line + 1 for first, _, last, _ in state.sealed for line in range(first, last + 1)
        }
        hits |= set(find_tokens(raw, skip=sealed_lines.__contains__))
    findings = state.findings
    findings += [Finding(path, hit.line, state.describe(hit.line, hit.kind)) for hit in hits]
    if yaml_file and not (allow_unparsable or template):
        findings += [
            Finding(
                path,
                line,
                f"cannot be parsed as YAML ({reason}), so it was not checked for plaintext "
                "Secrets; fix it, or allow it with --allow-unparsable",
            )
            for line, reason in state.problems
        ]
    return sorted(set(findings), key=lambda f: (f.line, f.message))


def _chunks(lines: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """Documents at ``---`` lines (a marker at column 0 ends any scalar), with their offset."""
    start = 0
    for number, line in enumerate(lines):
        if number > start and _DOC_START.match(line):
            if all(_PREAMBLE.match(text) for text in lines[start:number]):
                continue  # directives (%YAML, %TAG) and comments belong to the next document
            yield start, list(lines[start:number])
            start = number
    yield start, list(lines[start:])


def _document(state: FileScan, start: int, lines: list[str], *, template: bool) -> None:
    """One document. A Helm template's structure is read with each ``{{ }}``/``{% %}`` as a
    placeholder (helm fills them before anything else sees the text). Any other file is read
    as written, as the renderer and kubectl read it; only when that fails is it read the
    template way too, so a literal in it is still found (it fails as unparsable anyway)."""
    text = "\n".join(lines)
    templated = "{{" in text or "{%" in text
    nodes, problem = compose(neutralize(lines) if templated and template else text)
    scan_problem = problem
    if templated and not template and problem is not None:
        nodes, scan_problem = compose(neutralize(lines))
    for node in nodes:
        _walk(state, node, start)
    if scan_problem is not None and state.textual:
        textual_scan(state, start, lines)
    if problem is not None:
        state.problems.append((start + problem.line + 1, problem.reason))


def _walk(state: FileScan, root: yaml.Node, start: int) -> None:
    """Every node once: spans of values (to name where a token is), objects (at a document's
    top and as a List's items), and a kustomization without a ``kind``."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, str]] = [(root, "", "")]
    while stack:
        node, where, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = start + node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            end = node.end_mark.line + (1 if node.end_mark.column else 0)
            if path:
                label = f"{where}: {path}" if where else path
                state.spans.append(Span(line, max(line, start + end), label))
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, where, f"{path}[{i}]") for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            if scalar(node, "kind") is not None and (path == "" or _LIST_ITEM.fullmatch(path)):
                where, path = check_object(state, node, start), ""
            stack += _children(state, node, where, path, start)
            if not where and not path and first(node, "secretGenerator") is not None:
                kustomization(state, node, start)  # a kustomization.yaml without a kind


def _children(
    state: FileScan, node: yaml.MappingNode, where: str, path: str, start: int
) -> list[tuple[yaml.Node, str, str]]:
    """A mapping's values, to walk; a duplicate key is a problem (parsers differ on which one
    wins)."""
    out = []
    first_seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
        key_line = start + key_node.start_mark.line + 1
        if isinstance(key_node, yaml.ScalarNode):
            if key in first_seen:
                state.problems.append((key_line, f"duplicate key, first at line {first_seen[key]}"))
            first_seen.setdefault(key, key_line)
        out.append((value_node, where, f"{path}.{key}" if path else str(key)))
    return out
