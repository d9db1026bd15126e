"""Field readers and checks shared by the Secret and SealedSecret parsers: names for messages,
metadata, string maps, kinds, data keys, scope annotations, reserved keys."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sealer.api import (
    ANN_SCOPE,
    ANN_SEALED_WITH,
    BITNAMI_CLUSTER_WIDE,
    BITNAMI_KEY_LABEL,
    BITNAMI_NAMESPACE_WIDE,
    LAST_APPLIED,
    RESERVED_PREFIX,
)
from sealer.envelope import Scope
from sealer.errors import ManifestError, ScopeError, printable


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
    # Exactly "true", as Bitnami's SealedSecret.Scope() compares: "True" or "yes" is no scope.
    if annotations.get(BITNAMI_CLUSTER_WIDE) == "true":
        bitnami = Scope.CLUSTER_WIDE
    elif annotations.get(BITNAMI_NAMESPACE_WIDE) == "true":
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
