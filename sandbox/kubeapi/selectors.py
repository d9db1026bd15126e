"""Label and field selectors, parsed once per request and matched per object.

Label selector grammar as in
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors :
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k``; ``!=`` and
``notin`` also match objects without the label, as on a real cluster.
Field selectors
(https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/) support
``metadata.name`` and ``metadata.namespace`` for every kind plus the few per-kind fields the real
server offers that clients here use; any other field is a 400, as on a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.kubeapi.errors import bad_request

Obj = dict[str, Any]

_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "Secret": ("type",),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
        "regarding.kind",
        "regarding.name",
        "regarding.namespace",
        "regarding.uid",
    ),
    "Pod": ("spec.nodeName", "spec.serviceAccountName", "status.phase", "status.podIP"),
}


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _values(key: str, values: list[str]) -> frozenset[str]:
    for value in values:
        if len(value) > 63 or not _VALUE_RE.match(value):
            raise bad_request(
                f"unable to parse requirement: invalid label value {value!r} for {key!r}"
            )
    return frozenset(values)


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside a ``(...)`` value set."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in (p.strip() for p in parts) if p]


def _parse_requirement(text: str) -> _Requirement:
    set_match = _SET_RE.match(text)
    if set_match:
        key, op, values = set_match.groups()
        return _Requirement(
            key, op, _values(key, [v.strip() for v in values.split(",") if v.strip()])
        )
    for op, norm in (("!=", "!="), ("==", "="), ("=", "=")):
        if op in text:
            key, _, value = text.partition(op)
            key, value = key.strip(), value.strip()
            if not _KEY_RE.match(key):
                raise bad_request(f"unable to parse requirement: invalid label key {key!r}")
            return _Requirement(key, norm, _values(key, [value]))
    if text.startswith("!"):
        return _Requirement(text[1:].strip(), "!")
    if not _KEY_RE.match(text):
        raise bad_request(f"unable to parse requirement: {text!r}")
    return _Requirement(text, "exists")


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[_Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text:
            return cls()
        return cls(tuple(_parse_requirement(p) for p in _split_requirements(text)))

    def matches(self, obj: Obj) -> bool:
        if not self.requirements:
            return True
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in self.requirements)


def _field_value(obj: Obj, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    return str(node)


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)

    @classmethod
    def parse(cls, text: str | None, kind: str) -> FieldSelector:
        if not text:
            return cls()
        allowed = ("metadata.name", "metadata.namespace", *_EXTRA_FIELDS.get(kind, ()))
        reqs = []
        for part in _split_requirements(text):
            for op, equal in (("!=", False), ("==", True), ("=", True)):  # noqa: B007
                if op in part:
                    field, _, value = part.partition(op)
                    break
            else:
                raise bad_request(f"invalid field selector: {part!r}")
            field = field.strip()
            if field not in allowed:
                raise bad_request(f'field label not supported: "{field}"')
            reqs.append((field, equal, value.strip()))
        return cls(tuple(reqs))

    @property
    def name(self) -> str | None:
        """The exact name asked for, so a lookup can skip the scan over a namespace."""
        for field, equal, value in self.requirements:
            if field == "metadata.name" and equal:
                return value
        return None

    def matches(self, obj: Obj) -> bool:
        return all(
            (_field_value(obj, field) == value) == equal
            for field, equal, value in self.requirements
        )


def combine(labels: LabelSelector, fields: FieldSelector) -> Callable[[Obj], bool]:
    if not labels.requirements and not fields.requirements:
        return lambda _obj: True
    return lambda obj: labels.matches(obj) and fields.matches(obj)
