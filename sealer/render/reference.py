"""Reference mode: a Secret holding placeholders becomes a VaultSecret, so no value is rendered.

Pure; called by :mod:`sealer.render.engine` with the placeholders it found. The VaultSecret has
the Secret's name and namespace; the controller (through ``connectionRef``) reads Vault and
writes the Secret (``spec.target``: same name, type, labels and annotations).

* A value that is exactly one placeholder without modifiers becomes ``spec.data[{key, ref}]``.
* Anything else (text around placeholders, ``base64encode``/``base64decode``, literal values
  beside placeholders, a raw placeholder in ``data`` whose Vault value is base64) becomes a
  ``spec.target.template.data`` Jinja2 template. Each placeholder it uses is fetched into a
  ``templateOnly`` entry ``sealops_ref_<n>`` (a name no key of the Secret has): the template
  sees it, the Secret does not carry it.
* Other modifiers have no template equivalent and are refused, as are binary literals.

References are written in the logical spelling (``secret/app#key#2``); ``<path:…>`` API paths
are converted (``secret/data/app`` → ``secret/app``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sealer.api import API_VERSION, VAULT_SECRET, metadata
from sealer.manifests import reserved_key
from sealer.render.errors import PlaceholderError
from sealer.render.placeholders import Placeholder, Segment
from sealer.secretdata import text_of
from sealer.vault.refs import SecretLocation

__all__ = ["ConnectionKind", "ConnectionRef", "to_vault_secret"]

_DROPPED_ANNOTATIONS = ("avp.kubernetes.io/", "kubectl.kubernetes.io/last-applied-configuration")
# What kpt and kustomize put on the items they hand a KRM function (file path, index, ids). The
# VaultSecret keeps them (kpt writes each item back to its file by them); the Secret it makes
# does not: kpt strips them from metadata only, so in the template they would reach the cluster.
_TOOL_ANNOTATIONS = (
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
)
_FILTERS = {"base64encode": "b64enc", "base64decode": "b64dec"}


ConnectionKind = Literal["VaultConnection", "ClusterVaultConnection"]


@dataclass(frozen=True)
class ConnectionRef:
    name: str
    kind: ConnectionKind = "VaultConnection"


Filled = dict[str, tuple[tuple[Segment, ...], Literal["plain", "base64"]]]


def to_vault_secret(
    secret: dict[str, Any],
    *,
    filled: Filled,
    generic_location: SecretLocation | None,
    connection: ConnectionRef | None,
) -> dict[str, Any]:
    """The VaultSecret for ``secret``; ``filled`` maps ``data.KEY``/``stringData.KEY`` to what
    the engine found there."""
    if connection is None:
        raise PlaceholderError(
            "--mode reference needs a connection: give --connection NAME (or SEALOPS_CONNECTION)"
        )
    keys = {str(k) for field in ("data", "stringData") for k in (secret.get(field) or {})}
    builder = _Builder(generic_location, taken=keys)
    for field in ("data", "stringData"):  # stringData wins, as the API server merges them
        values = secret.get(field) or {}
        for key, value in values.items():
            found = filled.get(f"{field}.{key}")
            if found is None:
                builder.literal(str(key), field, "" if value is None else str(value))
            else:
                builder.placeholders(str(key), field, *found)
    meta = metadata(secret)
    out_meta: dict[str, Any] = {"name": meta.get("name")}
    if meta.get("namespace"):
        out_meta["namespace"] = meta["namespace"]
    out_meta.update(_kept_metadata(meta))
    target: dict[str, Any] = {"name": meta.get("name"), "type": secret.get("type") or "Opaque"}
    template: dict[str, Any] = {}
    if kept := _kept_metadata(meta, for_secret=True):  # new dicts: shared ones would be aliases
        template["metadata"] = kept
    if builder.templates:
        template["data"] = builder.templates
    if template:
        target["template"] = template
    spec: dict[str, Any] = {
        "connectionRef": {"kind": connection.kind, "name": connection.name},
        "data": [
            {"key": k, "ref": r, **({"templateOnly": True} if k in builder.hidden else {})}
            for k, r in builder.data.items()
        ],
        "target": target,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": VAULT_SECRET,
        "metadata": out_meta,
        "spec": spec,
    }


def _kept_metadata(meta: Mapping[str, Any], *, for_secret: bool = False) -> dict[str, Any]:
    """The labels and annotations (those not empty) the VaultSecret keep, or (``for_secret``)
    its Secret, in new dicts at each call. Keys the controller sets itself (sealops.dev/…) are
    left out, as `seal` leaves them out of a SealedSecret's template: the controller would
    refuse the template holding them."""
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if not reserved_key(str(k))}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not str(k).startswith(_DROPPED_ANNOTATIONS) and not reserved_key(str(k))
        if not (for_secret and str(k).startswith(_TOOL_ANNOTATIONS))
    }
    return {k: v for k, v in (("labels", labels), ("annotations", annotations)) if v}


class _Builder:
    def __init__(self, generic_location: SecretLocation | None, *, taken: set[str]) -> None:
        self.generic_location = generic_location
        self.data: dict[str, str] = {}
        self.templates: dict[str, str] = {}
        self.hidden: set[str] = set()  # the templateOnly keys
        self._taken = taken  # the Secret's keys: no helper name may be one of them
        self._names: dict[str, str] = {}  # ref -> fetched key name, for templates

    def literal(self, key: str, field: str, value: str) -> None:
        if field == "data":
            text = text_of(value)
            if text is None:
                raise PlaceholderError(
                    "a literal that is not base64 of UTF-8 text cannot go in a VaultSecret "
                    "template",
                    field=f"{field}.{key}",
                )
            value = text
        self.data.pop(key, None)
        quote = "{" in value or "}" in value
        self.templates[key] = "{{ " + _quoted(value) + " }}" if quote else value

    def placeholders(
        self, key: str, field: str, segments: tuple[Segment, ...], encoding: str
    ) -> None:
        where = f"{field}.{key}"
        # A raw placeholder in data: the Vault value is the base64 the Secret should hold.
        raw_b64 = field == "data" and encoding == "plain"
        if len(segments) == 1 and isinstance(segments[0], Placeholder) and not raw_b64:
            only = segments[0]
            if not only.modifiers:
                self.templates.pop(key, None)
                self.data[key] = self._ref(only, where)
                return
        parts = [_quoted(s) if isinstance(s, str) else self._expression(s, where) for s in segments]
        expression = " ~ ".join(parts) if parts else "''"
        if raw_b64:
            expression = f"({expression}) | b64dec"
        self.data.pop(key, None)
        self.templates[key] = "{{ " + expression + " }}"

    def _expression(self, placeholder: Placeholder, where: str) -> str:
        ref = self._ref(placeholder, where)
        name = self._names.get(ref)
        if name is None:
            number = len(self._names)
            while f"sealops_ref_{number}" in self._taken:
                number += 1
            name = self._names[ref] = f"sealops_ref_{number}"
            self._taken.add(name)
            self.hidden.add(name)
            self.data[name] = ref
        filters = []
        for modifier in placeholder.modifiers:
            jinja = _FILTERS.get(modifier.name)
            if jinja is None:
                raise PlaceholderError(
                    f"placeholder {placeholder.text!r}: modifier {modifier.name!r} has no "
                    "VaultSecret template equivalent (use --mode inline)",
                    field=where,
                )
            filters.append(jinja)
        return "(" + " | ".join([name, *filters]) + ")" if filters else name

    def _ref(self, placeholder: Placeholder, where: str) -> str:
        location: SecretLocation | None = self.generic_location
        field = placeholder.key
        if placeholder.ref is not None:
            location, field = placeholder.ref.location, placeholder.ref.field
        if location is None or field is None:
            raise PlaceholderError(f"placeholder {placeholder.text!r} has no path", field=where)
        text = f"{location.path}#{field}"
        return text if location.version is None else f"{text}#{location.version}"


def _quoted(text: str) -> str:
    """``text`` as a Jinja2 string literal expression (the template engine must not read it)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped + "'" if text else "''"
