"""argocd-vault-plugin's modifiers, applied left to right to a value read from Vault.

Pure; called by :mod:`sealer.render.engine`. A value is a string (KV fields are strings; the
Vault layer writes non-string KV values as compact JSON) until ``jsonParse`` or ``yamlParse``
turn it into data, which ``jsonPath`` reads and renders back to text.

=================  ==========================================================================
``base64encode``   standard base64 of the UTF-8 text
``base64decode``   the text whose base64 this is (invalid base64 is an error, not garbage)
``jsonPath T``     the Kubernetes JSONPath template ``T`` over the value (a string is parsed
                   as JSON first)
``jsonParse``      JSON text → data
``yamlParse``      YAML text → data
``indent N``       argocd-vault-plugin's indent: first line trimmed; each later non-empty line
                   trimmed and indented by N spaces; empty lines dropped; at most 16 MiB made
``sha256sum``      lowercase hex SHA-256 of the UTF-8 text
=================  ==========================================================================

Errors are :class:`ModifierError` s that describe the input's shape (never its content).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from typing import Any

from sealer.errors import ManifestError
from sealer.reader import InputBoundError, read_json, read_yaml_document
from sealer.render.errors import ModifierError
from sealer.render.jsonpath import evaluate
from sealer.render.placeholders import Modifier

__all__ = ["MAX_INDENTED", "apply_modifiers"]


def apply_modifiers(value: Any, modifiers: Iterable[Modifier]) -> Any:
    for modifier in modifiers:
        value = _apply(modifier, value)
    return value


def _apply(modifier: Modifier, value: Any) -> Any:
    name = modifier.name
    if name == "jsonPath":
        data = _json(value, name) if isinstance(value, str) else value
        return evaluate(modifier.args[0], data)
    text = _string(value, name)
    if name == "base64encode":
        return base64.b64encode(text.encode()).decode("ascii")
    if name == "base64decode":
        return _b64decode(text)
    if name == "jsonParse":
        return _json(text, name)
    if name == "yamlParse":
        try:
            return read_yaml_document(text, source="yamlParse")
        except InputBoundError as exc:
            raise ModifierError(f"yamlParse: the value {exc.message}") from None
        except ManifestError:
            raise ModifierError("yamlParse: the value is not valid YAML") from None
    if name == "indent":
        return _indent(text, int(modifier.args[0]))
    if name == "sha256sum":
        return hashlib.sha256(text.encode()).hexdigest()
    raise ModifierError(f"unknown modifier {name!r}")


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ModifierError(f"{name}: expects text, got {_shape(value)}")
    return value


def _json(text: str, name: str) -> Any:
    try:
        return read_json(text, source=name)
    except InputBoundError as exc:
        raise ModifierError(f"{name}: the value {exc.message}") from None
    except ManifestError:
        raise ModifierError(f"{name}: the value is not valid JSON") from None


def _b64decode(text: str) -> str:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ModifierError("base64decode: the value is not valid base64") from None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise ModifierError("base64decode: the decoded bytes are not UTF-8 text") from None


#: The most ``indent`` may make: 999 spaces on each of a 4 MiB value's two million lines would
#: be 2 GB in the renderer (an Application with its own Vault chooses the value).
MAX_INDENTED = 16 * 1024 * 1024


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(text) + spaces * len(lines) > MAX_INDENTED:
        raise ModifierError(f"indent: the result would pass {MAX_INDENTED // 2**20} MiB")
    out = lines[0].strip()
    if len(lines) > 1:
        out += "\n"
    pad = " " * spaces
    for index, line in enumerate(lines[1:], start=1):
        if line:
            out += pad + line.strip()
            if index < len(lines) - 1:
                out += "\n"
    return out


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a " + type(value).__name__
