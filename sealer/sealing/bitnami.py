"""The way back: a sealops SealedSecret as a Bitnami one (``seal migrate --to bitnami``).

What Bitnami's controller reads, and nothing it would misread:

- one ciphertext per value: the one sealed for the chosen key (found through the
  ``sealops.dev/sealed-with`` hint and the key's fingerprint), or the only one;
- the scope as Bitnami's annotations, ``"true"`` exactly, on the object (where its ``Unseal`` takes
  the label from) and on the template (where ``kubeseal`` reads it); strict is no annotation;
- the template's labels, annotations, type and immutability as they are, and ``template.data``
  translated from our Jinja2 to Go ``text/template``: text and plain ``{{ name }}`` references to
  one value translate exactly; anything else is refused, naming the field, never quoting it. An
  object marked ``sealops.dev/template-engine: go`` (``seal migrate`` output) is already in Go:
  its ``template.data`` is copied as it is, and the marker is dropped.

The ciphertexts are copied byte for byte: the label depends only on scope, namespace and name, and
none of them change. No key is needed and nothing is decrypted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sealer.api import (
    ANN_SCOPE,
    ANN_SEALED_WITH,
    ANN_TEMPLATE_ENGINE,
    BITNAMI_API_VERSION,
    BITNAMI_CLUSTER_WIDE,
    BITNAMI_NAMESPACE_WIDE,
    LAST_APPLIED,
    SEALED_SECRET,
)
from sealer.envelope import Scope, split_recipients
from sealer.errors import EnvelopeError, ManifestError
from sealer.manifests import SealedSecretDoc, clean_metadata

__all__ = [
    "bitnami_scope_annotations",
    "choose_ciphertext",
    "go_reference",
    "go_template",
    "to_bitnami",
]

#: Annotations that say how the values were sealed (and the template's dialect, which for Bitnami
#: is always Go); the Bitnami object gets its own.
_SEALING = frozenset(
    {
        ANN_SCOPE,
        ANN_SEALED_WITH,
        ANN_TEMPLATE_ENGINE,
        BITNAMI_NAMESPACE_WIDE,
        BITNAMI_CLUSTER_WIDE,
    }
)


def bitnami_scope_annotations(annotations: Mapping[str, str], scope: Scope) -> dict[str, str]:
    """``annotations`` with the scope said as Bitnami says it (its ``UpdateScopeAnnotations``)."""
    out = {k: v for k, v in annotations.items() if k not in _SEALING and k != LAST_APPLIED}
    if scope is Scope.NAMESPACE_WIDE:
        out[BITNAMI_NAMESPACE_WIDE] = "true"
    elif scope is Scope.CLUSTER_WIDE:
        out[BITNAMI_CLUSTER_WIDE] = "true"
    return out


def choose_ciphertext(
    value: str, hint: Sequence[str], fingerprint: str | None, *, where: str, field: str
) -> str:
    """The one blob of ``value`` Bitnami's controller can open: the one for ``fingerprint``.

    A single blob is taken as it is, unless the hint says it was sealed for another key. Several
    blobs need ``fingerprint`` and a hint naming each of them (the hint lists one fingerprint
    per blob, in order); without them the choice would be a guess, so it is refused.
    """
    try:
        blobs = split_recipients(value)
    except EnvelopeError as exc:
        raise ManifestError(exc.message, where=where, field=field) from None
    listed = list(hint) if len(hint) == len(blobs) else []
    if len(blobs) == 1:
        if fingerprint and listed and fingerprint not in listed:
            raise ManifestError(
                f"has no ciphertext for {fingerprint} (sealed for {listed[0]})",
                where=where,
                field=field,
            )
        return blobs[0]
    if not fingerprint:
        raise ManifestError(
            f"holds {len(blobs)} ciphertexts (one per cluster) and Bitnami reads one: give "
            "--cert CERT of the cluster to go back to",
            where=where,
            field=field,
        )
    if not listed:
        raise ManifestError(
            f"holds {len(blobs)} ciphertexts but {ANN_SEALED_WITH} does not name each one, so "
            f"the one for {fingerprint} cannot be found",
            where=where,
            field=field,
        )
    if fingerprint not in listed:
        raise ManifestError(
            f"has no ciphertext for {fingerprint} (sealed for {', '.join(listed)})",
            where=where,
            field=field,
        )
    return blobs[listed.index(fingerprint)]


# --- template.data: Jinja2 to Go text/template ------------------------------------------------

#: A plain reference: ``{{ name }}``, any whitespace inside, no ``-``/``+`` whitespace control.
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: A reference through the mapping of every value: ``{{ values["tls.crt"] }}`` (no escapes).
_BY_KEY = re.compile(r"""\{\{\s*values\s*\[\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\]\s*\}\}""")
#: Where Jinja2 starts a tag: a variable, a block or a comment.
_TAG = re.compile(r"\{[{%#]")
#: Names Jinja2 reads as constants or operators, not as a value's name.
_JINJA_WORDS = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"}
)
#: A Go identifier: ``.name`` reaches the map's key; anything else goes through ``index``.
_GO_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def go_reference(key: str) -> str:
    """A Go ``text/template`` action printing the value ``key`` of Bitnami's data map."""
    if _GO_IDENTIFIER.fullmatch(key):
        return "{{ ." + key + " }}"
    return "{{ index . " + json.dumps(key) + " }}"


def _go_text(text: str) -> str:
    """Template text as Go prints it, as Jinja2 prints it: Jinja2 turns ``\\r\\n`` and ``\\r``
    into ``\\n`` (its ``newline_sequence``), Go keeps them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def go_template(source: str, keys: Sequence[str]) -> str | None:
    """``source`` (one of our Jinja2 templates) in Go ``text/template``, rendering the same bytes.

    Read as Jinja2's lexer reads it: each tag (``{{``, ``{%``, ``{#``) where it first starts. Only
    text and plain references to a value (one of ``keys``) translate. Any other tag (a name that
    is no value, a filter, an expression, a block, a comment, whitespace control) gives None: Go
    would render it otherwise, or not at all.
    """
    known = set(keys)
    parts: list[str] = []
    pos = 0
    while (tag := _TAG.search(source, pos)) is not None:
        key, end = _referenced(source, tag.start(), known)
        if key is None:
            return None
        parts += [_go_text(source[pos : tag.start()]), go_reference(key)]
        pos = end
    parts.append(_go_text(source[pos:]))
    return "".join(parts)


def _referenced(source: str, start: int, known: set[str]) -> tuple[str | None, int]:
    """The value a plain reference at ``start`` prints, and where the reference ends."""
    match = _REFERENCE.match(source, start)
    if match is not None:
        name = match.group(1)
        return (name if name in known and name not in _JINJA_WORDS else None), match.end()
    by_key = _BY_KEY.match(source, start)
    if by_key is not None and "values" not in known:  # a value named values wins over the map
        key = by_key.group(1) if by_key.group(1) is not None else by_key.group(2)
        return (key if key in known else None), by_key.end()
    return None, start


def _template_data(sealed: SealedSecretDoc, data: Mapping[str, str], where: str) -> dict[str, str]:
    keys = sorted(sealed.encrypted)
    out: dict[str, str] = {}
    for key, source in data.items():
        translated = go_template(source, keys)
        if translated is None:
            raise ManifestError(
                "cannot be expressed in Bitnami's Go template dialect (only text and plain "
                "{{ name }} references to a value translate); rewrite it, or drop it and seal "
                "its result as a value",
                where=where,
                field=f"spec.template.data.{key}",
            )
        out[key] = translated
    return out


def _template(sealed: SealedSecretDoc, where: str) -> dict[str, Any]:
    """Our template as Bitnami's: metadata, type and immutability as they are, data translated."""
    template = sealed.template
    meta = template.get("metadata") or {}
    out: dict[str, Any] = {}
    tmeta: dict[str, Any] = {}
    if meta.get("labels"):
        tmeta["labels"] = dict(meta["labels"])
    annotations = bitnami_scope_annotations(meta.get("annotations") or {}, sealed.scope)
    if annotations:
        tmeta["annotations"] = annotations
    if tmeta:
        out["metadata"] = tmeta
    if template.get("type"):
        out["type"] = template["type"]
    if template.get("immutable") is not None:
        out["immutable"] = template["immutable"]
    if template.get("data") and sealed.template_engine == "go":
        out["data"] = dict(template["data"])  # already Bitnami's dialect: as it is
    elif template.get("data"):
        out["data"] = _template_data(sealed, template["data"], where)
    return out


def to_bitnami(
    sealed: SealedSecretDoc, *, fingerprint: str | None = None, source: str = ""
) -> dict[str, Any]:
    """A ``bitnami.com/v1alpha1`` SealedSecret that Bitnami's controller opens as ours opens
    ``sealed``: the same ciphertexts (the one for ``fingerprint`` where a value has several),
    the same label, the same Secret. Errors name ``source`` (the file), the object and the field.
    """
    where = f"{source}: {sealed.ref}" if source else sealed.ref
    if sealed.bitnami:
        raise ManifestError(f"is already a {BITNAMI_API_VERSION} SealedSecret", where=where)
    encrypted = {
        key: choose_ciphertext(
            value,
            sealed.sealed_with.get(key, []),
            fingerprint,
            where=where,
            field=f"spec.encryptedData.{key}",
        )
        for key, value in sorted(sealed.encrypted.items())
    }
    meta = clean_metadata(sealed.doc.get("metadata") or {})
    out_meta: dict[str, Any] = {"name": sealed.name}
    if sealed.namespace:
        out_meta["namespace"] = sealed.namespace
    if meta.get("labels"):
        out_meta["labels"] = dict(meta["labels"])
    annotations = bitnami_scope_annotations(meta.get("annotations") or {}, sealed.scope)
    if annotations:
        out_meta["annotations"] = annotations
    spec: dict[str, Any] = {"encryptedData": encrypted}
    template = _template(sealed, where)
    if template:
        spec["template"] = template
    return {
        "apiVersion": BITNAMI_API_VERSION,
        "kind": SEALED_SECRET,
        "metadata": out_meta,
        "spec": spec,
    }
