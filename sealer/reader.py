"""The one bounded YAML/JSON reader: every entry point that reads YAML or JSON goes through it.

Pure code over bytes and text. YAML is parsed by libyaml when PyYAML has it (the event stream),
and composed here, without recursion, so that every bound is checked while the nodes are made,
before anything is constructed or walked:

* the input size;
* the number of documents in a stream;
* the nesting depth, counted through aliases (an alias to a deep node is as deep as that node);
* the number of aliases;
* base-60 numbers (YAML 1.1's ``!!int 1:30:00``; a plain ``1:30:00`` is a string, as Go reads
  it: :mod:`sealer.yamlloader`): at most :data:`MAX_BASE60_PARTS` parts, since building one is
  quadratic in its parts;
* the expanded size: nodes counted as if every alias were a copy of what it names. An 820-byte
  "billion laughs" (nine levels of nine aliases) stands for 9**9 nodes: it is refused while being
  read, not after the walk that would take hours. A recursive alias (a node inside itself) is
  refused too.

JSON is read by :mod:`json` with the same size, depth and node bounds. Past a bound the reader
raises :class:`InputBoundError` naming the source and the bound; errors never quote the input
(PyYAML's and json's own messages do, so they are never passed on).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from sealer.errors import ManifestError
from sealer.reasons import Reason
from sealer.yamlloader import MAX_BASE60_PARTS, Base60TooLong, Loader

__all__ = [
    "DEFAULT_LIMITS",
    "REQUEST_LIMITS",
    "InputBoundError",
    "ReadLimits",
    "read_json",
    "read_yaml",
    "read_yaml_document",
    "read_yaml_nodes",
]


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on one read. The defaults are far above any real manifest stream.

    ``max_list_depth`` and ``max_objects`` bound the flattening of ``kind: List`` documents
    (:func:`sealer.manifests.load_documents`); the others bound the reader itself.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_documents: int = 20_000
    max_depth: int = 128
    max_aliases: int = 10_000
    max_nodes: int = 4_000_000
    max_list_depth: int = 4
    max_objects: int = 20_000

    def with_(self, **changes: int) -> ReadLimits:
        return replace(self, **changes)


DEFAULT_LIMITS = ReadLimits()
#: The bounds on a request body to the controller (/v1/verify, /v1/rotate): a SealedSecret is
#: small; a rotate batch is at most 100 objects. The controller reads with these, and ``seal``
#: cuts its /v1/rotate batches to fit them.
REQUEST_LIMITS = DEFAULT_LIMITS.with_(
    max_bytes=4 * 1024 * 1024,
    max_documents=100,
    max_objects=100,
    max_nodes=200_000,
    max_aliases=1_000,
    max_depth=64,
)


class InputBoundError(ManifestError):
    """The input passes one of the reader's bounds; the message names the bound and its value."""

    reason: str = Reason.INVALID_SPEC


# An alias token is ``*name`` where a node may start: at the start of a line or after a space, a
# flow indicator or the ``:`` of a JSON-like key. NUL and the BOM's last byte stand before it in
# UTF-16 and BOM-led text. Without such a ``*`` the text has no alias, and its document is a tree
# (measured without bookkeeping); a ``*`` inside quotes or words (``'*.example.com'``,
# ``0 * * * *``) does not count. A wrong guess could only cost time: the tree walk is bounded too.
_ALIAS_BYTES = re.compile(rb"(?:^|[\s\[\{,:\x00\xbf])\*[^\s\[\]\{\},]")
_ALIAS_TEXT = re.compile(r"(?:^|[\s\[\{,:\x00\ufeff])\*[^\s\[\]\{\},]")


def _may_alias(data: bytes | str) -> bool:
    pattern = _ALIAS_BYTES if isinstance(data, bytes) else _ALIAS_TEXT
    return pattern.search(data) is not None  # type: ignore[arg-type]


def _size(data: bytes | str) -> int:
    return len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)


def _check_size(data: bytes | str, source: str, limits: ReadLimits) -> None:
    # A str is at most 4 bytes a character: compare cheaply first, encode only when it may pass.
    if isinstance(data, str) and len(data) * 4 <= limits.max_bytes:
        return
    if _size(data) > limits.max_bytes:
        raise InputBoundError(f"is larger than {limits.max_bytes:,} bytes", where=source)


def _bound(what: str, source: str) -> InputBoundError:
    return InputBoundError(f"{what}; refused", where=source)


class _Counter:
    """The bounds across one stream: expanded nodes, aliases and documents so far."""

    def __init__(self, source: str, limits: ReadLimits):
        self.source = source
        self.limits = limits
        self.nodes = 0
        self.aliases = 0
        self.documents = 0

    def document(self) -> None:
        self.documents += 1
        if self.documents > self.limits.max_documents:
            raise _bound(f"holds more than {self.limits.max_documents:,} document(s)", self.source)

    def alias(self) -> None:
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise _bound(f"uses more than {self.limits.max_aliases:,} aliases", self.source)

    def grow(self, nodes: int, depth: int) -> None:
        if self.nodes + nodes > self.limits.max_nodes:
            raise _bound(
                f"expands to more than {self.limits.max_nodes:,} nodes (aliases counted as copies)",
                self.source,
            )
        if depth > self.limits.max_depth:
            raise _bound(f"nests deeper than {self.limits.max_depth} levels", self.source)

    def measure(self, root: Node, *, aliased: bool = True) -> None:
        """Expanded size, depth (through aliases) and aliases of one composed document.

        Iterative, over the node graph the composer made, where an alias is the same node object
        again: each distinct node is visited once, so a bomb costs what its text costs.
        ``aliased=False`` when the text holds no ``*`` (no alias can occur): scalars then need
        no bookkeeping.
        """
        if isinstance(root, ScalarNode):
            self.grow(1, 1)
            self.nodes += 1
        elif aliased:
            self._measure_graph(root)
        else:
            self._measure_tree(root)

    def _measure_graph(self, root: Node) -> None:
        """:meth:`measure` for a collection that may hold aliases: each distinct node once."""
        limits = self.limits
        size: dict[int, int] = {}  # finished collections: expanded size
        height: dict[int, int] = {}  # finished collections: expanded depth
        scalars: set[int] = set()
        on_path = {id(root)}
        # A frame: [node, children, next child, expanded size so far, deepest child so far].
        frames: list[list[Any]] = [[root, _children(root), 0, 1, 0]]
        while frames:
            frame = frames[-1]
            descend = self._next_unmeasured(frame, len(frames), size, height, scalars, on_path)
            if descend is not None:
                if len(frames) >= limits.max_depth:
                    raise _bound(f"nests deeper than {limits.max_depth} levels", self.source)
                on_path.add(id(descend))
                frames.append([descend, _children(descend), 0, 1, 0])
                continue
            frames.pop()
            key = id(frame[0])
            on_path.discard(key)
            total, deepest = frame[3], frame[4] + 1
            size[key], height[key] = total, deepest
            self.grow(total, len(frames) + deepest)
            if frames:
                parent = frames[-1]
                parent[3] += total
                parent[4] = max(parent[4], deepest)
        self.nodes += size[id(root)]

    def _next_unmeasured(
        self,
        frame: list[Any],
        depth: int,
        size: dict[int, int],
        height: dict[int, int],
        scalars: set[int],
        on_path: set[int],
    ) -> Node | None:
        """Counts ``frame``'s children (at ``depth`` frames) up to the next collection not yet
        measured, and returns it; None once all are counted. A scalar or collection seen before
        is an alias: counted as a copy of what it stands for."""
        children = frame[1]
        index = frame[2]
        descend: Node | None = None
        while index < len(children):
            child = children[index]
            index += 1
            key = id(child)
            if child.__class__ is ScalarNode:
                frame[3] += 1
                if not frame[4]:
                    frame[4] = 1
                if key in scalars:
                    self.alias()
                scalars.add(key)
                continue
            if key in size:
                self.alias()
                frame[3] += size[key]
                frame[4] = max(frame[4], height[key])
                self.grow(frame[3], depth + height[key])
                continue
            if key in on_path:
                raise InputBoundError(
                    "holds a recursive alias (a node inside itself); refused",
                    where=self.source,
                )
            descend = child
            break
        frame[2] = index
        return descend

    def _measure_tree(self, root: Node) -> None:
        """:meth:`measure` for a document without aliases: a tree, so no bookkeeping per node."""
        max_depth = self.limits.max_depth
        room = self.limits.max_nodes - self.nodes
        total = 0
        stack: list[tuple[Node, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            total += 1
            if depth >= max_depth:
                raise _bound(f"nests deeper than {max_depth} levels", self.source)
            if total > room:
                self.grow(total, 1)
            depth += 1
            if node.__class__ is MappingNode:
                for key, value in node.value:
                    if key.__class__ is ScalarNode:
                        total += 1
                    else:
                        stack.append((key, depth))
                    if value.__class__ is ScalarNode:
                        total += 1
                    else:
                        stack.append((value, depth))
            else:
                for value in node.value:
                    if value.__class__ is ScalarNode:
                        total += 1
                    else:
                        stack.append((value, depth))
        self.grow(total, 1)
        self.nodes += total


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return list(node.value)


def _yaml_error(exc: Exception, source: str) -> ManifestError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem == "exceeded maximum nesting depth":
        # libyaml's own depth bound (1,000 levels), met before ours while scanning ahead.
        return _bound("nests deeper than 1,000 levels", source)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return ManifestError(f"malformed YAML{at}", where=source)
    if isinstance(exc, UnicodeDecodeError):
        return ManifestError("not UTF-8 text", where=source)
    return ManifestError("malformed YAML", where=source)


def read_yaml_nodes(
    data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[Node, Any]]:
    """Every document of a YAML (or JSON) stream as (node, value); an empty one's value is None.

    A generator: the nodes carry line numbers, for callers that report where something is, and
    each document's nodes can be dropped once the caller is done with it.
    """
    _check_size(data, source, limits)
    counter = _Counter(source, limits)
    aliased = _may_alias(data)
    loader = Loader(data)
    try:
        while loader.check_node():
            counter.document()
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                continue
            counter.measure(node, aliased=aliased)
            yield node, loader.construct_document(node)
    except ManifestError:
        raise
    except RecursionError:
        # The pure-Python composer (PyYAML without libyaml) recurses once per level.
        raise _bound(f"nests deeper than {limits.max_depth} levels", source) from None
    except Base60TooLong:
        raise _bound(
            f"holds a base-60 number of more than {MAX_BASE60_PARTS} parts", source
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, UnicodeDecodeError, ArithmeticError) as exc:
        raise _yaml_error(exc, source) from None
    finally:
        loader.dispose()


def read_yaml(data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of a YAML (or JSON) stream; None for an empty document."""
    return [value for _node, value in read_yaml_nodes(data, source=source, limits=limits)]


def read_yaml_document(
    data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> Any:
    """The one document of a YAML (or JSON) text; None when empty, an error when several."""
    docs = read_yaml(data, source=source, limits=limits.with_(max_documents=1))
    return docs[0] if docs else None


def read_json(data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS) -> Any:
    """One JSON value, with the size, depth and node bounds of YAML."""
    _check_size(data, source, limits)
    try:
        value = json.loads(data)
    except RecursionError:
        raise _bound(f"nests deeper than {limits.max_depth} levels", source) from None
    except (ValueError, TypeError):
        raise ManifestError("malformed JSON", where=source) from None
    _check_tree(value, source, limits)
    return value


def _check_tree(value: Any, source: str, limits: ReadLimits) -> None:
    """Depth and node count of a parsed JSON value, without recursion."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise _bound(f"holds more than {limits.max_nodes:,} nodes", source)
        if depth > limits.max_depth:
            raise _bound(f"nests deeper than {limits.max_depth} levels", source)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
