"""Plain Secrets: parsing (data and stringData, strict), writing back, the template metadata
``seal`` keeps."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.errors import printable
from sealer.manifests.fields import (
    _SEALING_ANNOTATIONS,
    _check_kind,
    _identity,
    _metadata,
    _optional_bool,
    _optional_string,
    _string_map,
    check_data_keys,
    object_ref,
    reserved_key,
)
from sealer.secretdata import decode_value

# ---------------------------------------------------------------------------------------------
# Secrets


@dataclass(frozen=True)
class PlainSecret:
    """A Secret's identity and values in memory. ``repr`` never shows the values."""

    name: str
    namespace: str | None
    type: str = "Opaque"
    immutable: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        name = printable(self.name)
        return f"Secret {printable(self.namespace)}/{name}" if self.namespace else f"Secret {name}"


def parse_secret(
    doc: Mapping[str, Any], *, source: str, default_namespace: str | None = None
) -> PlainSecret:
    """A ``v1 Secret`` manifest: ``data`` (base64) and ``stringData`` merged, stringData winning.

    Every field is checked for its type: a wrong one is a :class:`ManifestError` naming it.
    """
    where = f"{source}: {object_ref(doc)}" if source else object_ref(doc)
    if doc.get("apiVersion", "v1") != "v1" or doc.get("kind") != "Secret":
        _check_kind(doc, where, kinds=set(), want="a v1 Secret")
    meta = _metadata(doc, where)
    name, namespace = _identity(meta, where, default_namespace)
    data: dict[str, bytes] = {}
    encoded = _string_map(doc.get("data"), where, "data")
    check_data_keys(encoded, where, "data")
    for key, value in encoded.items():
        data[key] = decode_value(value, key=key, where=where)
    plain = _string_map(doc.get("stringData"), where, "stringData")
    check_data_keys(plain, where, "stringData")
    for key, value in plain.items():
        data[key] = value.encode()
    immutable = _optional_bool(doc.get("immutable"), where, "immutable")
    return PlainSecret(
        name=name,
        namespace=namespace,
        type=_optional_string(doc.get("type"), where, "type") or "Opaque",
        immutable=immutable,
        labels=_string_map(meta.get("labels"), where, "metadata.labels"),
        annotations=_string_map(meta.get("annotations"), where, "metadata.annotations"),
        data=data,
    )


def secret_manifest(secret: PlainSecret) -> dict[str, Any]:
    """A ``v1 Secret`` with base64 ``data``, keys sorted, ready to apply."""
    meta: dict[str, Any] = {"name": secret.name}
    if secret.namespace:
        meta["namespace"] = secret.namespace
    if secret.labels:
        meta["labels"] = dict(secret.labels)
    if secret.annotations:
        meta["annotations"] = dict(secret.annotations)
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    doc["type"] = secret.type
    if secret.immutable is not None:
        doc["immutable"] = secret.immutable
    doc["data"] = {k: base64.b64encode(v).decode("ascii") for k, v in sorted(secret.data.items())}
    return doc


def template_metadata(secret: PlainSecret) -> dict[str, Any]:
    """Labels and annotations the Secret should get back when unsealed.

    Keys the controller sets itself (:func:`reserved_key`: ``sealops.dev/managed-by``,
    ``owned-by``, ``data-hash``, … on a Secret exported with ``kubectl get -o yaml``) are left
    out, silently: the controller would refuse a template holding them, and writes its own.
    Server-set metadata (``uid``, ``resourceVersion``, …) never gets here: only labels and
    annotations are copied, and the last-applied annotation is dropped with the sealing ones.
    """
    meta: dict[str, Any] = {}
    labels = {k: v for k, v in secret.labels.items() if not reserved_key(k)}
    if labels:
        meta["labels"] = labels
    annotations = {
        k: v
        for k, v in secret.annotations.items()
        if k not in _SEALING_ANNOTATIONS and not reserved_key(k)
    }
    if annotations:
        meta["annotations"] = annotations
    return meta
