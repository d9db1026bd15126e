"""A CRD's openAPIV3Schema applied as the real server does: prune, default, validate (422).

Kubernetes schemas are "structural" OpenAPI v3.0
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
For ``jsonschema`` they are translated: ``nullable: true`` admits null,
``x-kubernetes-int-or-string`` admits an integer or a string, ``x-kubernetes-list-type: set``
items must be unique and ``map`` items unique by their ``x-kubernetes-list-map-keys``; other
``x-kubernetes-*`` keys are dropped from the validation schema, and
``x-kubernetes-validations`` (CEL) are not evaluated. Unknown fields are pruned unless
``x-kubernetes-preserve-unknown-fields`` says otherwise, and ``default`` values are filled in.
The formats the real server checks are checked (``date-time``, ``date``, ``byte``, ``uuid``,
``ipv4``, ``ipv6``); others (``int32``, ``int64``, ...) are annotations only, as there.
``metadata`` is never checked against the schema: the server validates it itself.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import jsonschema

Obj = dict[str, Any]
_ROOT_KEPT = ("apiVersion", "kind", "metadata")
_MAP_KEYS = "x-kubernetes-list-map-keys"


_FORMATS = jsonschema.FormatChecker(formats=())  # only the formats below, as the real server


def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if "T" not in value.upper():
            raise ValueError("not an RFC 3339 date-time")
    return True


def _date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def _byte(value: object) -> bool:
    if isinstance(value, str):
        base64.b64decode(value, validate=True)
    return True


def _uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
    return True


def _ipv4(value: object) -> bool:
    if isinstance(value, str):
        ipaddress.IPv4Address(value)
    return True


def _ipv6(value: object) -> bool:
    if isinstance(value, str):
        ipaddress.IPv6Address(value)
    return True


for _name, _check, _errors in (
    ("date-time", _date_time, ValueError),
    ("date", _date, ValueError),
    ("byte", _byte, (binascii.Error, ValueError)),
    ("uuid", _uuid, ValueError),
    ("ipv4", _ipv4, ValueError),
    ("ipv6", _ipv6, ValueError),
):
    _FORMATS.checks(_name, raises=_errors)(_check)


def _unique_map_keys(
    validator: Any, keys: list[str], instance: Any, schema: Obj
) -> Iterator[jsonschema.ValidationError]:
    """``x-kubernetes-list-type: map``: no two items may share their key fields."""
    if not isinstance(instance, list):
        return
    seen = set()
    for item in instance:
        if not isinstance(item, dict):
            continue
        key = tuple(json.dumps(item.get(k)) for k in keys)
        if key in seen:
            shown = ", ".join(f"{k}: {item.get(k)!r}" for k in keys)
            yield jsonschema.ValidationError(f"Duplicate value: {{{shown}}}")
        seen.add(key)


@functools.lru_cache(maxsize=256)
def _go_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as Go's regexp reads it: a final ``$`` ends the text (Python's ``$`` also
    matches before a final newline, so ``'^[a-z]+$'`` would take ``"abc\\n"``)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Obj
) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` as the real server checks it (unanchored search, Go's ``$``), worded as its
    message: ``should match '<pattern>'``."""
    if isinstance(instance, str) and not _go_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"should match '{pattern}'")


def _translate(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out: Obj = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _translate(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _translate(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_translate(v) for v in value]
        elif key == _MAP_KEYS:
            out[key] = value  # checked by the extra keyword below
        elif key == "nullable" or key.startswith("x-kubernetes-"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string") and "type" not in node:
        out["anyOf"] = [*out.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class CompiledSchema:
    """One version's openAPIV3Schema, translated once when the CRD is registered."""

    def __init__(self, schema: Obj) -> None:
        self.schema = schema
        root = _translate(schema)
        root.get("properties", {}).pop("metadata", None)
        if "required" in root:
            root["required"] = [r for r in root["required"] if r != "metadata"]
        base = jsonschema.validators.validator_for(root, default=jsonschema.Draft7Validator)
        validator_cls = jsonschema.validators.extend(
            base, {_MAP_KEYS: _unique_map_keys, "pattern": _pattern}
        )
        self._validator = validator_cls(root, format_checker=_FORMATS)

    def apply(self, obj: Obj) -> Obj:
        """Pruned and defaulted copy of ``obj``."""
        out = copy.deepcopy(obj)
        _prune(out, self.schema, root=True)
        _default(out, self.schema, root=True)
        return out

    def errors(self, obj: Obj) -> list[tuple[str, str]]:
        """(field, message) per violation, worded like the real server's 422 causes."""
        instance = {k: v for k, v in obj.items() if k != "metadata"}
        causes = []
        for err in sorted(self._validator.iter_errors(instance), key=lambda e: list(e.path)):
            field = _path(err.absolute_path)
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else ""
                field = f"{field}.{missing}" if field else missing
                causes.append((field, "Required value"))
            else:
                shown = json.dumps(err.instance)[:100]
                causes.append(
                    (field, f"Invalid value: {shown}: {field or '<root>'} in body {err.message}")
                )
        return causes


def _prune(node: Any, schema: Any, *, root: bool = False) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(node, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        for key in list(node):
            if root and key == "metadata":
                continue  # the server owns metadata: a CRD schema never prunes it
            if props is not None and key in props:
                _prune(node[key], props[key])
            elif isinstance(additional, dict):
                _prune(node[key], additional)
            elif (root and key in _ROOT_KEPT) or (embedded and key in _ROOT_KEPT):
                continue
            elif not preserve and additional is not True:
                del node[key]
    elif isinstance(node, list) and "items" in schema:
        for item in node:
            _prune(item, schema["items"])


def _default(node: Any, schema: Any, *, root: bool = False) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(node, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if root and key in _ROOT_KEPT:
                continue
            if key not in node and isinstance(sub, dict) and "default" in sub:
                node[key] = copy.deepcopy(sub["default"])
            if key in node:
                _default(node[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for value in node.values():
                _default(value, additional)
    elif isinstance(node, list) and "items" in schema:
        for item in node:
            _default(item, schema["items"])
