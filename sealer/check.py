"""``seal check``: find secrets that must not be committed. Pure code over file contents.

Flags plaintext ``v1 Secret`` manifests (any ``data``/``stringData`` value that is not a
placeholder), PEM private keys, and Vault/OpenBao tokens. Passes SealedSecrets, VaultSecrets and
Secrets whose values are all placeholders (argocd-vault-plugin's ``<path:…>``, generic ``<key>``,
our ``<vault:…>``). Findings give the file, the line and the field, never the value.

A file that is not valid YAML (a Helm template, say) still gets the text checks (keys, tokens).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import yaml

from sealer.errors import ManifestError
from sealer.reader import InputBoundError, read_yaml_nodes

__all__ = ["Finding", "scan"]

_PEM_PRIVATE = re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")
# Vault/OpenBao service, batch and recovery tokens (hvs./hvb./hvr.), and the legacy `s.` form
# (24 base62 characters). Word boundaries keep `kubernetes.io` and the like out.
_VAULT_TOKEN = re.compile(
    rb"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|[sb]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_-])"
)
_PLACEHOLDER = re.compile(r"<(?:path|vault):[^<>\n]+>|^\s*<[A-Za-z0-9_.\-]+(?:\s*\|[^<>]*)?>\s*$")
# With avp.kubernetes.io/path, argocd-vault-plugin fills generic <key> placeholders anywhere in a
# value (postgres://<user>:<password>@db), so such a value holds a placeholder too.
_GENERIC = re.compile(r"<[A-Za-z0-9_.\-]+(?:\s*\|[^<>]*)?>")
_AVP_PATH = "avp.kubernetes.io/path"


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def scan(path: str, content: bytes) -> list[Finding]:
    """Every problem in one file, in line order."""
    findings = [
        Finding(path, _line_of(content, m.start()), "PEM private key")
        for m in _PEM_PRIVATE.finditer(content)
    ]
    findings += [
        Finding(path, _line_of(content, m.start()), "Vault token")
        for m in _VAULT_TOKEN.finditer(content)
    ]
    if b"\0" not in content:
        findings += _plaintext_secrets(path, content)
    return sorted(findings, key=lambda f: (f.line, f.message))


def _line_of(content: bytes, offset: int) -> int:
    return content.count(b"\n", 0, offset) + 1


def _is_placeholder(value: str, *, generic: bool = False) -> bool:
    return bool(_PLACEHOLDER.search(value) or (generic and _GENERIC.search(value)))


def _plaintext_secrets(path: str, content: bytes) -> list[Finding]:
    findings: list[Finding] = []
    try:
        # The bounded reader: past a bound (an alias bomb, say) it raises, and the check fails.
        for node, doc in read_yaml_nodes(content, source=path):
            findings += _check_document(path, node, doc)
    except InputBoundError:
        raise
    except ManifestError:
        return findings  # not YAML/JSON (a template, a script): the text checks still ran
    return findings


def _check_document(path: str, node: yaml.Node, doc: Any) -> list[Finding]:
    if not isinstance(doc, dict):
        return []
    if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
        items = _mapping_value(node, "items")
        item_nodes = items.value if isinstance(items, yaml.SequenceNode) else []
        out: list[Finding] = []
        for item_node, item in zip(item_nodes, doc["items"], strict=False):
            out += _check_document(path, item_node, item)
        return out
    if doc.get("kind") != "Secret" or doc.get("apiVersion", "v1") != "v1":
        return []
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = (
        f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else meta.get("name")
    )
    annotations = meta.get("annotations")
    generic = isinstance(annotations, dict) and bool(annotations.get(_AVP_PATH))
    findings = []
    for section, decode in (("stringData", False), ("data", True)):
        values = doc.get(section)
        if not isinstance(values, dict):
            continue
        section_node = _mapping_value(node, section)
        for key, value in values.items():
            if value in (None, "") or _is_placeholder(_as_text(value, decode), generic=generic):
                continue
            line = _key_line(section_node, str(key)) or node.start_mark.line + 1
            findings.append(
                Finding(
                    path, line, f"plaintext Secret {name}: {section}.{key} holds a literal value"
                )
            )
    return findings


def _as_text(value: Any, base64_encoded: bool) -> str:
    text = str(value)
    if base64_encoded and not _is_placeholder(text):
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return text
    return text


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None


def _key_line(mapping: yaml.Node | None, key: str) -> int | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for key_node, _ in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return int(key_node.start_mark.line) + 1
    return None
