"""SealedSecrets, ours and Bitnami's: parsing, the key hint (``sealops.dev/sealed-with``),
writing clean manifests for Git."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sealer.api import (
    ANN_SCOPE,
    ANN_SEALED_WITH,
    ANN_TEMPLATE_ENGINE,
    API_VERSION,
    BITNAMI_API_VERSION,
    LAST_APPLIED,
    SEALED_SECRET,
)
from sealer.envelope import Scope
from sealer.errors import ManifestError, printable
from sealer.manifests.fields import (
    _SEALING_ANNOTATIONS,
    _SERVER_METADATA,
    _check_kind,
    _identity,
    _metadata,
    _optional_bool,
    _optional_mapping,
    _optional_string,
    _shown,
    _string_map,
    check_data_keys,
    object_ref,
    scope_from_annotations,
)

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


#: The dialects ``template.data`` can be written in (:data:`ANN_TEMPLATE_ENGINE`).
TemplateEngine = Literal["jinja2", "go"]


def template_engine(annotations: Mapping[str, str], where: str) -> TemplateEngine:
    """The engine :data:`ANN_TEMPLATE_ENGINE` names: absent is ``jinja2``; any other value is
    refused (not quoted: the field is named, and that is enough to find it)."""
    value = annotations.get(ANN_TEMPLATE_ENGINE)
    if value is None or value == "jinja2":
        return "jinja2"
    if value == "go":
        return "go"
    raise ManifestError(
        "must be `go` or `jinja2` (absent means `jinja2`)",
        where=where,
        field=f"metadata.annotations.{ANN_TEMPLATE_ENGINE}",
    )


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
    #: The dialect of ``template.data``: Bitnami's objects are always ``go``.
    template_engine: TemplateEngine = "jinja2"

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
    engine: TemplateEngine = "go" if bitnami else template_engine(annotations, where)
    return SealedSecretDoc(
        name=name,
        namespace=namespace,
        scope=scope,
        encrypted=encrypted,
        sealed_with=parse_sealed_with(annotations.get(ANN_SEALED_WITH), encrypted),
        template=template,
        doc=dict(doc),
        bitnami=bitnami,
        template_engine=engine,
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
