"""New SealedSecrets from existing ones: merge values in, re-encrypt, migrate from Bitnami.

Each keeps what the existing object says (name, namespace, scope, template, the other values)
and rewrites only the ciphertexts and the key hint; none writes plaintext anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sealer.api import ANN_SEALED_WITH, ANN_TEMPLATE_ENGINE, API_VERSION
from sealer.envelope import RandomSource, Scope
from sealer.errors import DecryptError, EnvelopeError, ManifestError, ScopeError, SealopsError
from sealer.keys import KeyPair, Recipient
from sealer.manifests import (
    PlainSecret,
    SealedSecretDoc,
    clean_metadata,
    format_sealed_with,
    scope_from_annotations,
    sealed_secret_manifest,
)
from sealer.sealing.opening import label_for_sealed
from sealer.sealing.reseal import reseal_value
from sealer.sealing.seal import seal_value
from sealer.sealing.work import MAX_PRIVATE_KEY_OPS, Work, WorkBoundError, plan_private_key_ops

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
    """Re-seal for ``recipients`` the ciphertexts ``keys`` open; keep every other one as it is.

    Per value (:func:`~sealer.sealing.reseal.reseal_value`): the blobs ``keys`` open are
    replaced, the other recipients' blobs stay byte for byte, and the hint is updated for that
    value. A value ``keys`` cannot open at all stays unchanged; an object of which no value
    opens is refused (wrong key, most likely), naming ``spec.encryptedData``.
    """
    if sealed.bitnami:
        raise ManifestError("is a Bitnami SealedSecret: run `seal migrate` first", where=sealed.ref)
    if not keys:
        raise DecryptError("no private key to re-seal with", where=sealed.ref)
    plan_private_key_ops(sealed, keys, max_ops=max_ops)
    label = label_for_sealed(sealed)
    encrypted: dict[str, str] = {}
    sealed_with: dict[str, list[str]] = {}
    ops = 0
    any_opened = False
    misses: list[DecryptError | None] = []
    for key, value in sealed.encrypted.items():
        counted = Work()
        try:
            done = reseal_value(
                value,
                keys,
                recipients,
                label,
                hint=sealed.sealed_with.get(key, ()),
                random=random,
                max_ops=max_ops - ops,
                work=counted,
            )
        except (EnvelopeError, WorkBoundError) as exc:
            raise exc.located(where=sealed.ref, field=f"spec.encryptedData.{key}") from None
        finally:
            ops += counted.ops
            if work is not None:
                work.ops += counted.ops
        any_opened = any_opened or done.opened
        misses.append(done.size_miss)
        encrypted[key] = done.value
        sealed_with[key] = done.hint or []
    if sealed.encrypted and not any_opened:
        raise _nothing_opened(sealed, len(keys), misses)
    return _with_spec(sealed, encrypted, sealed_with)


def _nothing_opened(
    sealed: SealedSecretDoc, keys: int, misses: Sequence[DecryptError | None]
) -> SealopsError:
    """The refusal when no value opens: the key-size message if that is why, else the generic."""
    first = misses[0] if misses else None
    if first is not None and all(misses):  # no key had the size the values were made for
        return first.located(where=sealed.ref, field="spec.encryptedData")
    return DecryptError(
        f"none of its values opens with the {keys} key(s) given: nothing to re-seal "
        "(wrong key, or sealed for other clusters only)",
        where=sealed.ref,
        field="spec.encryptedData",
    )


def migrate_bitnami(sealed: SealedSecretDoc) -> dict[str, Any]:
    """A Bitnami SealedSecret as ours: same ciphertexts and template, our scope annotation, and
    ``sealops.dev/template-engine: go`` when it has ``template.data`` (its Go templates keep
    working)."""
    if not sealed.bitnami:
        raise ManifestError(f"is already a {API_VERSION} SealedSecret", where=sealed.ref)
    doc = sealed.doc
    meta = clean_metadata(doc.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(ANN_TEMPLATE_ENGINE, None)
    if sealed.template.get("data"):
        # Bitnami's templates are Go text/template: kept as they are, and marked so.
        annotations[ANN_TEMPLATE_ENGINE] = "go"
    return sealed_secret_manifest(
        name=sealed.name,
        namespace=sealed.namespace,
        scope=sealed.scope,
        encrypted=sealed.encrypted,
        sealed_with={},
        template=sealed.template,
        labels=meta.get("labels"),
        annotations=annotations,
    )
