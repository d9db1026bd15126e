"""Validation of ``metadata`` every kind shares: names, labels, annotations, ownerReferences.

As the real server's ``ValidateObjectMeta``
(https://kubernetes.io/docs/concepts/overview/working-with-objects/names/,
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set,
https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/): a bad
label, an annotation budget over 256 KiB, or an owner reference without uid is a 422, so a
controller that writes one fails here as it would on a cluster.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.kubeapi.errors import invalid
from sandbox.kubeapi.resources import ResourceType

Obj = dict[str, Any]
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_MAX_ANNOTATIONS = 256 * 1024  # total bytes of annotation keys and values


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# rule -> (pattern, longest, the real server's words): IsDNS1123Subdomain, IsDNS1123Label and
# IsDNS1035Label of k8s.io/apimachinery/pkg/util/validation.
_NAME_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {
    "subdomain": (
        DNS_SUBDOMAIN,
        253,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character",
    ),
    "label": (
        DNS_LABEL,
        63,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
    ),
    "dns1035": (
        DNS_1035,
        63,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character",
    ),
}


def path_segment_problem(name: str) -> str | None:
    """Why ``name`` cannot be a path segment (IsValidPathSegmentName), or None: it may not be
    ``.`` or ``..`` and may not contain ``/`` or ``%``."""
    if name in (".", ".."):
        return f"may not be '{name}'"
    problems = [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    return ";".join(problems) or None


def name_problem(name: str, rule: str = "subdomain") -> str | None:
    """Why ``name`` is not a valid name under ``rule`` (see ``ResourceType.name_rule``), or None.

    The length is checked first, so the pattern never runs over a long string."""
    if rule == "path":
        return path_segment_problem(name)
    pattern, limit, words = _NAME_RULES[rule]
    if len(name) > limit:
        return f"must be no more than {limit} characters"
    if not pattern.fullmatch(name):  # fullmatch: Go's $ ends the text, Python's also a line
        return words
    return None


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), or None if it is one."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.fullmatch(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _NAME_PART.fullmatch(name):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', at most 63"
    return None


def _label_causes(labels: Obj) -> list[tuple[str, str]]:
    causes = []
    for key, value in labels.items():
        problem = _key_problem(key)
        if problem:
            causes.append(("metadata.labels", f'Invalid value: "{key}": {problem}'))
        if (
            not isinstance(value, str)
            or len(value) > 63
            or (value and not _NAME_PART.fullmatch(value))
        ):
            why = "a label value is empty or at most 63 alphanumeric characters, '-', '_' or '.'"
            causes.append(("metadata.labels", f'Invalid value: "{value}": {why}'))
    return causes


def _annotation_causes(annotations: Obj) -> list[tuple[str, str]]:
    causes = []
    for key in annotations:
        problem = _key_problem(key)
        if problem:
            causes.append(("metadata.annotations", f'Invalid value: "{key}": {problem}'))
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > _MAX_ANNOTATIONS:
        causes.append(
            ("metadata.annotations", f"Too long: must have at most {_MAX_ANNOTATIONS} bytes")
        )
    return causes


def _owner_causes(refs: list[Any]) -> list[tuple[str, str]]:
    causes = []
    for i, ref in enumerate(refs):
        for field in ("apiVersion", "kind", "name", "uid"):
            if not (isinstance(ref, dict) and ref.get(field)):
                causes.append((f"metadata.ownerReferences[{i}].{field}", "Required value"))
    controllers = [r for r in refs if isinstance(r, dict) and r.get("controller")]
    if len(controllers) > 1:
        causes.append(
            (
                "metadata.ownerReferences",
                "Invalid value: Only one reference can have Controller set to true",
            )
        )
    return causes


def check(rt: ResourceType, obj: Obj) -> None:
    """422 with every metadata problem of ``obj`` at once, as the real server lists them."""
    meta = obj["metadata"]
    causes = [
        *_label_causes(meta.get("labels") or {}),
        *_annotation_causes(meta.get("annotations") or {}),
        *_owner_causes(meta.get("ownerReferences") or []),
    ]
    if causes:
        raise invalid(rt.kind, rt.group, meta["name"], causes)
