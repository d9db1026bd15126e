"""New SealedSecrets from existing ones: merge values in, re-encrypt, migrate from Bitnami.

Each keeps what the existing object says (name, namespace, scope, template, the other values)
and rewrites only the ciphertexts and the key hint; none writes plaintext anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sealer.api import ANN_SEALED_WITH, API_VERSION
from sealer.envelope import RandomSource, Scope
from sealer.errors import ManifestError, ScopeError
from sealer.keys import KeyPair, Recipient
from sealer.manifests import (
    PlainSecret,
    SealedSecretDoc,
    clean_metadata,
    format_sealed_with,
    scope_from_annotations,
    sealed_secret_manifest,
)
from sealer.sealing.opening import label_for_sealed, unseal
from sealer.sealing.seal import seal_value
from sealer.sealing.work import MAX_PRIVATE_KEY_OPS, Work

__all__ = ["merge_into", "migrate_bitnami", "reencrypt"]


def merge_into(
    existing: SealedSecretDoc,
    secret: PlainSecret,
    recipients: Sequence[Recipient],
    *,
    scope: Scope | None = None,
    random: RandomSource = os.urandom,
    source: str = "--merge-into",
) -> dict[str, Any]:
    """``existing`` with the values of ``secret`` added or replaced; other values kept as they are.

    The Secret must be for the same name, namespace and scope, or the new values would not open
    next to the old ones. The key hint stays exact, per value when recipients differ.
    """
    where = f"{source}: {existing.ref}"
    scope = scope or scope_from_annotations(secret.annotations, where=secret.ref) or existing.scope
    if scope is not existing.scope:
        raise ScopeError(
            f"is sealed {existing.scope.value}, but {secret.ref} is {scope.value}", where=where
        )
    if scope is not Scope.CLUSTER_WIDE and secret.namespace != existing.namespace:
        raise ScopeError(
            f"is in namespace {existing.namespace!r}, but {secret.ref} is not", where=where
        )
    if scope is Scope.STRICT and secret.name != existing.name:
        raise ScopeError(f"is named {existing.name!r}, but {secret.ref} is not", where=where)
    label = label_for_sealed(existing)
    fps = [r.fingerprint for r in recipients]
    encrypted = dict(existing.encrypted)
    sealed_with = dict(existing.sealed_with)
    for key, value in secret.data.items():
        encrypted[key] = seal_value(value, recipients, label, random=random)
        sealed_with[key] = fps
    return _with_spec(existing, encrypted, sealed_with)


def _with_spec(
    existing: SealedSecretDoc, encrypted: dict[str, str], sealed_with: dict[str, list[str]]
) -> dict[str, Any]:
    doc = dict(existing.doc)
    meta = clean_metadata(doc.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    hint = format_sealed_with(sealed_with, encrypted)
    if hint:
        annotations[ANN_SEALED_WITH] = hint
    else:
        annotations.pop(ANN_SEALED_WITH, None)
    if annotations:
        meta["annotations"] = annotations
    doc["metadata"] = meta
    doc["spec"] = {**(doc.get("spec") or {}), "encryptedData": dict(sorted(encrypted.items()))}
    doc.pop("status", None)
    return doc


def reencrypt(
    sealed: SealedSecretDoc,
    keys: Sequence[KeyPair],
    recipients: Sequence[Recipient],
    *,
    random: RandomSource = os.urandom,
    max_ops: int = MAX_PRIVATE_KEY_OPS,
    work: Work | None = None,
) -> dict[str, Any]:
    """Open every value with ``keys`` and seal it again for ``recipients``, same scope and label."""
    if sealed.bitnami:
        raise ManifestError("is a Bitnami SealedSecret: run `seal migrate` first", where=sealed.ref)
    opened = unseal(sealed, keys, max_ops=max_ops, work=work)
    label = label_for_sealed(sealed)
    fps = [r.fingerprint for r in recipients]
    encrypted = {
        k: seal_value(v, recipients, label, random=random) for k, v in opened.values.items()
    }
    return _with_spec(sealed, encrypted, dict.fromkeys(encrypted, fps))


def migrate_bitnami(sealed: SealedSecretDoc) -> dict[str, Any]:
    """A Bitnami SealedSecret as ours: same ciphertexts and template, our scope annotation."""
    if not sealed.bitnami:
        raise ManifestError(f"is already a {API_VERSION} SealedSecret", where=sealed.ref)
    doc = sealed.doc
    meta = clean_metadata(doc.get("metadata") or {})
    return sealed_secret_manifest(
        name=sealed.name,
        namespace=sealed.namespace,
        scope=sealed.scope,
        encrypted=sealed.encrypted,
        sealed_with={},
        template=sealed.template,
        labels=meta.get("labels"),
        annotations=meta.get("annotations"),
    )
