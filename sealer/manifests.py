"""Reading and writing manifests: Secrets, SealedSecrets (ours and Bitnami's), YAML and JSON.

Pure code over bytes and dicts: no file or network I/O. Used by :mod:`sealer.sealing`, the CLI and
the controller. Every error names the object (``Secret ns/name``) and the field (``data.password``)
and never quotes a value: YAML parse errors report line and column only, because PyYAML's own
messages quote the offending text.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from sealer.api import (
    ANN_SCOPE,
    ANN_SEALED_WITH,
    API_VERSION,
    BITNAMI_API_VERSION,
    BITNAMI_CLUSTER_WIDE,
    BITNAMI_KEY_LABEL,
    BITNAMI_NAMESPACE_WIDE,
    LAST_APPLIED,
    RESERVED_PREFIX,
    SEALED_SECRET,
)
from sealer.envelope import Scope
from sealer.errors import ManifestError, ScopeError, printable
from sealer.lists import flatten
from sealer.reader import DEFAULT_LIMITS, ReadLimits, read_yaml
from sealer.secretdata import decode_value

__all__ = [
    "PlainSecret",
    "SealedSecretDoc",
    "check_data_keys",
    "dump_documents",
    "format_sealed_with",
    "load_documents",
    "object_ref",
    "parse_sealed_secret",
    "parse_sealed_with",
    "parse_secret",
    "reserved_key",
    "scope_from_annotations",
    "secret_manifest",
]


def reserved_key(key: str) -> bool:
    """Whether a label or annotation key is the controller's to set, never a template's.

    The one rule: the controller refuses template metadata holding such a key, and ``seal``
    leaves such keys out of the template it writes (:func:`template_metadata`).
    """
    return key.startswith(RESERVED_PREFIX) or key == BITNAMI_KEY_LABEL


# Annotations that describe how a SealedSecret was sealed: never copied into the Secret template.
_SEALING_ANNOTATIONS = frozenset(
    {ANN_SCOPE, ANN_SEALED_WITH, BITNAMI_NAMESPACE_WIDE, BITNAMI_CLUSTER_WIDE, LAST_APPLIED}
)
# Server-set metadata that must not travel from a live object into a manifest for Git.
_SERVER_METADATA = (
    "creationTimestamp",
    "resourceVersion",
    "uid",
    "selfLink",
    "generation",
    "managedFields",
    "ownerReferences",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def object_ref(doc: Mapping[str, Any]) -> str:
    """``Kind ns/name`` (or ``Kind name``) for messages."""
    kind = _word(doc.get("kind")) or "object"
    raw = doc.get("metadata")
    meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    name = _word(meta.get("name")) or _word(meta.get("generateName")) or "<unnamed>"
    ns = _word(meta.get("namespace"))
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def _word(value: Any) -> str:
    """A string field for a message: itself, escaped and cut (:func:`printable`), else empty."""
    return printable(value) if isinstance(value, str) else ""


def _shown(value: Any) -> str:
    """A value for a message: a string as it is (cut), else its YAML type, never its text."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return printable(value) or "''"
    return f"a {_TYPE_NAMES.get(type(value), 'value')}"


_TYPE_NAMES: dict[type, str] = {
    bool: "boolean",
    int: "number",
    float: "number",
    list: "list",
    dict: "mapping",
    bytes: "binary value",
}


# ---------------------------------------------------------------------------------------------
# Documents


# libyaml when PyYAML has it: a thousand manifests dump in a tenth of the time.
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_documents(
    data: bytes | str, *, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> list[dict[str, Any]]:
    """Every object in a YAML or JSON stream, with ``List`` kinds flattened. Empty docs skipped.

    Read by :func:`sealer.reader.read_yaml` under ``limits`` (size, documents, depth, aliases,
    expanded size); Lists nest at most ``limits.max_list_depth`` deep and give at most
    ``limits.max_objects`` objects. Errors give the line and column only, never the text.
    """
    out: list[dict[str, Any]] = []
    for index, doc in enumerate(read_yaml(data, source=source, limits=limits)):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"document {index + 1} is a {type(doc).__name__}, not a Kubernetes object",
                where=source,
            )
        flatten(doc, source=source, limits=limits, into=out)
    return out


def dump_documents(docs: list[dict[str, Any]], output: str) -> str:
    """YAML (``---``-separated) or JSON (one object, or a ``v1 List`` for several)."""
    if output == "json":
        body: Any = (
            docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
        )
        try:
            return json.dumps(body, indent=2, default=_json_value) + "\n"
        except TypeError:  # a mapping key that is not text or a number (a date, say)
            raise ManifestError("holds a mapping key that JSON cannot hold") from None
    return yaml.dump_all(
        docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=2**31 - 1
    )


def _json_value(value: Any) -> Any:
    """What JSON has no type for, as Kubernetes writes it: timestamps as text, bytes as base64."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise ManifestError(f"holds a {type(value).__name__}, which JSON cannot hold")


def _metadata(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    meta = doc.get("metadata")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ManifestError("must be a mapping", where=where, field="metadata")
    return meta


def _string_map(value: Any, where: str, field_name: str) -> dict[str, str]:
    """A mapping of strings to strings (labels, annotations, data); anything else is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(
            f"must be a mapping, not {_shown(value)}", where=where, field=field_name
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ManifestError(
                f"has a key that is {_shown(key)}, not a string", where=where, field=field_name
            )
        if not isinstance(item, str):
            raise ManifestError(
                f"must be a string, not {_shown(item) if item is None else 'a ' + _kind(item)}",
                where=where,
                field=f"{field_name}.{key}",
            )
        out[key] = item
    return out


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "value")


def _optional_string(value: Any, where: str, field_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ManifestError(f"must be a string, not a {_kind(value)}", where=where, field=field_name)


def _optional_bool(value: Any, where: str, field_name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ManifestError("must be true or false", where=where, field=field_name)


def _optional_mapping(value: Any, where: str, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(
            f"must be a mapping, not {_shown(value)}", where=where, field=field_name
        )
    return value


def _identity(
    meta: Mapping[str, Any], where: str, default_namespace: str | None
) -> tuple[str, str | None]:
    """``metadata.name`` (required) and ``metadata.namespace`` (or the default), both strings."""
    name = meta.get("name")
    if name is None or name == "":
        raise ManifestError("is required", where=where, field="metadata.name")
    if not isinstance(name, str):
        raise ManifestError(
            f"must be a string, not a {_kind(name)}", where=where, field="metadata.name"
        )
    namespace = _optional_string(meta.get("namespace"), where, "metadata.namespace")
    return name, namespace or default_namespace or None


def _check_kind(
    doc: Mapping[str, Any], where: str, *, kinds: set[tuple[str, str]], want: str
) -> None:
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not (isinstance(api, str) and isinstance(kind, str)) or (api, kind) not in kinds:
        got = f"apiVersion {_shown(api)}, kind {_shown(kind)}"
        raise ManifestError(f"expected {want}, got {got}", where=where)


# Secret data keys as the API server checks them (IsConfigMapKey).
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def check_data_keys(keys: Iterable[str], where: str, field_name: str) -> None:
    """Refuse a key the API server would refuse in a Secret's data (naming the field)."""
    for key in keys:
        if len(key) > 253 or not _DATA_KEY.fullmatch(key) or key in (".", ".."):
            raise ManifestError(
                f"key {key[:64]!r} is not a valid Secret key (letters, digits, '-', '_', '.')",
                where=where,
                field=field_name,
            )


def scope_from_annotations(annotations: Mapping[str, str], *, where: str) -> Scope | None:
    """The scope the annotations ask for: ours, else Bitnami's; None when none is set."""
    ours = annotations.get(ANN_SCOPE)
    bitnami = None
    if str(annotations.get(BITNAMI_CLUSTER_WIDE, "")).lower() == "true":
        bitnami = Scope.CLUSTER_WIDE
    elif str(annotations.get(BITNAMI_NAMESPACE_WIDE, "")).lower() == "true":
        bitnami = Scope.NAMESPACE_WIDE
    if ours is None:
        return bitnami
    try:
        scope = Scope.parse(ours)
    except ScopeError as exc:
        raise exc.located(where=where, field=f"metadata.annotations[{ANN_SCOPE}]") from None
    if bitnami is not None and bitnami is not scope:
        raise ScopeError(
            f"{ANN_SCOPE} says {scope.value} but the Bitnami annotation says {bitnami.value}",
            where=where,
            field="metadata.annotations",
        )
    return scope


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


# ---------------------------------------------------------------------------------------------
# The key hint


def parse_sealed_with(value: str | None, keys: Iterable[str]) -> dict[str, list[str]]:
    """Recipients per value from ``sealops.dev/sealed-with``; unknown keys are left out.

    Common form ``SHA256:a,SHA256:b`` applies to every key; per-value form
    ``k1=SHA256:a,SHA256:b;k2=SHA256:c`` names each key's recipients. A malformed hint is
    ignored (the controller then tries every key), so it is never a reason to fail.
    """
    if not value or not value.strip():
        return {}
    keys = list(keys)
    if "=" not in value:
        common = [fp.strip() for fp in value.split(",") if fp.strip()]
        return {key: list(common) for key in keys}
    out: dict[str, list[str]] = {}
    for entry in value.split(";"):
        key, sep, listed = entry.partition("=")
        if sep and key.strip():
            out[key.strip()] = [fp.strip() for fp in listed.split(",") if fp.strip()]
    return {key: fps for key, fps in out.items() if key in keys}


def format_sealed_with(per_key: Mapping[str, list[str]], keys: Iterable[str]) -> str | None:
    """The shortest exact hint: the common form when every key has the same recipients."""
    keys = sorted(keys)
    known = {k: per_key[k] for k in keys if per_key.get(k)}
    if not known:
        return None
    lists = {tuple(v) for v in known.values()}
    if len(known) == len(keys) and len(lists) == 1:
        return ",".join(next(iter(lists)))
    return ";".join(f"{k}={','.join(v)}" for k, v in sorted(known.items()))


# ---------------------------------------------------------------------------------------------
# SealedSecrets


@dataclass(frozen=True)
class SealedSecretDoc:
    """A SealedSecret (ours or Bitnami's) as the sealing code needs it."""

    name: str
    namespace: str | None
    scope: Scope
    encrypted: dict[str, str]
    sealed_with: dict[str, list[str]]
    template: dict[str, Any]
    doc: dict[str, Any]
    bitnami: bool = False

    @property
    def ref(self) -> str:
        ns = f"{printable(self.namespace)}/" if self.namespace else ""
        return f"SealedSecret {ns}{printable(self.name)}"


def parse_sealed_secret(
    doc: Mapping[str, Any],
    *,
    source: str = "",
    allow_bitnami: bool = True,
    default_namespace: str | None = None,
) -> SealedSecretDoc:
    """A SealedSecret manifest, every field checked for its type before anything uses it.

    ``spec.template`` is checked as deep as sealops reads it (``type``, ``immutable``,
    ``metadata.labels``/``annotations`` as string maps, ``data`` as template strings), so no
    caller (CLI, ``/v1/verify``, the reconciler) meets a field of the wrong type.
    """
    where = f"{source}: {object_ref(doc)}" if source else object_ref(doc)
    api = doc.get("apiVersion")
    bitnami = api == BITNAMI_API_VERSION
    _check_kind(
        doc,
        where,
        kinds={(API_VERSION, SEALED_SECRET), (BITNAMI_API_VERSION, SEALED_SECRET)},
        want=f"a {API_VERSION} SealedSecret",
    )
    if bitnami and not allow_bitnami:
        raise ManifestError(
            "is a Bitnami SealedSecret: convert it with `seal migrate`", where=where
        )
    meta = _metadata(doc, where)
    name, namespace = _identity(meta, where, default_namespace)
    spec = doc.get("spec")
    if spec is None:
        raise ManifestError("is required", where=where, field="spec")
    if not isinstance(spec, dict):
        raise ManifestError(f"must be a mapping, not {_shown(spec)}", where=where, field="spec")
    if "encryptedData" not in spec and "data" in spec:
        raise ManifestError(
            "holds the legacy single-blob format; re-seal it with kubeseal >= 0.7 first",
            where=where,
            field="spec.data",
        )
    encrypted = _string_map(spec.get("encryptedData"), where, "spec.encryptedData")
    check_data_keys(encrypted, where, "spec.encryptedData")
    template = _template(spec.get("template"), where)
    _string_map(meta.get("labels"), where, "metadata.labels")
    annotations = _string_map(meta.get("annotations"), where, "metadata.annotations")
    scope = scope_from_annotations(annotations, where=where) or Scope.STRICT
    return SealedSecretDoc(
        name=name,
        namespace=namespace,
        scope=scope,
        encrypted=encrypted,
        sealed_with=parse_sealed_with(annotations.get(ANN_SEALED_WITH), encrypted),
        template=template,
        doc=dict(doc),
        bitnami=bitnami,
    )


def _template(value: Any, where: str) -> dict[str, Any]:
    """``spec.template`` with the shape every reader relies on; unknown keys are kept as given."""
    template = _optional_mapping(value, where, "spec.template")
    _optional_string(template.get("type"), where, "spec.template.type")
    _optional_bool(template.get("immutable"), where, "spec.template.immutable")
    meta = _optional_mapping(template.get("metadata"), where, "spec.template.metadata")
    _string_map(meta.get("labels"), where, "spec.template.metadata.labels")
    _string_map(meta.get("annotations"), where, "spec.template.metadata.annotations")
    data = _string_map(template.get("data"), where, "spec.template.data")
    check_data_keys(data, where, "spec.template.data")
    return template


def sealed_secret_manifest(
    *,
    name: str,
    namespace: str | None,
    scope: Scope,
    encrypted: Mapping[str, str],
    sealed_with: Mapping[str, list[str]],
    template: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``sealops.dev/v1alpha1`` SealedSecret, clean for Git (no server-set fields)."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    ann = {k: v for k, v in (annotations or {}).items() if k not in _SEALING_ANNOTATIONS}
    ann[ANN_SCOPE] = scope.value
    hint = format_sealed_with(sealed_with, encrypted)
    if hint:
        ann[ANN_SEALED_WITH] = hint
    meta["annotations"] = ann
    spec: dict[str, Any] = {"encryptedData": dict(sorted(encrypted.items()))}
    if template:
        spec["template"] = dict(template)
    return {"apiVersion": API_VERSION, "kind": SEALED_SECRET, "metadata": meta, "spec": spec}


def clean_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata without server-set fields or the last-applied annotation."""
    out = {k: v for k, v in meta.items() if k not in _SERVER_METADATA}
    annotations = out.get("annotations")
    if isinstance(annotations, dict):
        kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if kept:
            out["annotations"] = kept
        else:
            out.pop("annotations")
    return out
