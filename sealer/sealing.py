"""Sealing whole manifests: Secret → SealedSecret and back, merge, re-encrypt, migrate.

Pure code: keys, recipients, the random source and the clock come in as arguments. Called by the
CLI and by the controller. Plaintext lives only in memory here; errors name keys, never values.

Unsealing uses the ``sealed-with`` hint to go straight to the right private key; without a hint,
or when the hinted key fails, it falls back to every key (as Bitnami's controller does). The
number of RSA private-key operations is returned so the controller can export it as a metric.

That work is bounded: at most ``MAX_RECIPIENTS`` recipients per value, and at most ``max_ops``
private-key operations per call (``MAX_PRIVATE_KEY_OPS`` by default). :func:`plan_private_key_ops`
refuses what is over the bound before any RSA work; the fallback after a wrong hint stops at it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sealer.api import ANN_SEALED_WITH, API_VERSION
from sealer.envelope import (
    MAX_RECIPIENTS,
    RandomSource,
    Scope,
    decode_blob,
    encode_blob,
    envelope_fits,
    hybrid_decrypt,
    hybrid_encrypt,
    join_recipients,
    label_for,
    recipient_count,
    split_recipients,
)
from sealer.errors import DecryptError, EnvelopeError, ManifestError, ScopeError
from sealer.keys import KeyPair, Recipient
from sealer.manifests import (
    PlainSecret,
    SealedSecretDoc,
    clean_metadata,
    format_sealed_with,
    reserved_key,
    scope_from_annotations,
    sealed_secret_manifest,
    template_metadata,
)

__all__ = [
    "MAX_PRIVATE_KEY_OPS",
    "Fingerprinted",
    "Unsealed",
    "Work",
    "WorkBoundError",
    "merge_into",
    "migrate_bitnami",
    "plan_private_key_ops",
    "reencrypt",
    "seal_secret",
    "seal_value",
    "unseal",
    "unseal_value",
    "unsealed_secret",
]


#: Private-key operations one object (or one HTTP request) may cost. With the key hint, opening a
#: value costs one; without it, one per recipient per key. About two seconds of RSA-4096 work.
MAX_PRIVATE_KEY_OPS = 512


@dataclass
class Work:
    """Private-key operations spent, counted as they are made, whether or not they succeed."""

    ops: int = 0


class WorkBoundError(ManifestError):
    """Opening the object would take more RSA work than the bound allows; refused before it."""

    reason = "InvalidSpec"


class Fingerprinted(Protocol):
    """A key known by its fingerprint: a :class:`KeyPair`, or a key a controller lists."""

    @property
    def fingerprint(self) -> str: ...


def plan_private_key_ops(
    sealed: SealedSecretDoc, keys: Sequence[Fingerprinted], *, max_ops: int = MAX_PRIVATE_KEY_OPS
) -> int:
    """The private-key operations opening ``sealed`` with ``keys`` is planned to take.

    One per value whose hint names a loaded key, else one per recipient per key. The controller
    plans each request with it; ``seal reencrypt`` sizes its /v1/rotate batches with it, given the
    keys the controller lists. Raises
    :class:`WorkBoundError`, naming the field and the bound, when a value holds more than
    ``MAX_RECIPIENTS`` recipients or the plan passes ``max_ops``. No RSA work is done here.
    """
    loaded = {k.fingerprint for k in keys}
    planned = 0
    for name, value in sealed.encrypted.items():
        count = recipient_count(value)
        if count > MAX_RECIPIENTS:
            raise WorkBoundError(
                f"holds {count:,} recipients; at most {MAX_RECIPIENTS} are allowed per value",
                where=sealed.ref,
                field=f"spec.encryptedData.{name}",
            )
        hint = sealed.sealed_with.get(name, ())
        hinted = len(hint) == count and any(fp in loaded for fp in hint)
        planned += 1 if hinted else count * max(1, len(keys))
    if planned > max_ops:
        raise WorkBoundError(
            f"opening its {len(sealed.encrypted)} value(s) would take {planned:,} private-key "
            f"operations; at most {max_ops} are allowed per object",
            where=sealed.ref,
            field="spec.encryptedData",
        )
    return planned


def seal_value(
    value: bytes,
    recipients: Sequence[Recipient],
    label: bytes,
    *,
    random: RandomSource = os.urandom,
) -> str:
    """One value for every recipient: comma-joined blobs in recipient order."""
    return join_recipients(
        [encode_blob(hybrid_encrypt(r.public_key, value, label, random=random)) for r in recipients]
    )


def seal_secret(
    secret: PlainSecret,
    recipients: Sequence[Recipient],
    *,
    scope: Scope | None = None,
    random: RandomSource = os.urandom,
) -> dict[str, Any]:
    """A SealedSecret manifest for ``secret``. ``scope`` overrides the Secret's annotations."""
    if not recipients:
        raise ManifestError("no certificate to seal for", where=secret.ref)
    if len(recipients) > MAX_RECIPIENTS:
        raise ManifestError(
            f"{len(recipients)} certificates to seal for; at most {MAX_RECIPIENTS} are allowed",
            where=secret.ref,
        )
    scope = scope or scope_from_annotations(secret.annotations, where=secret.ref) or Scope.STRICT
    try:
        label = label_for(scope, secret.namespace, secret.name)
    except ScopeError as exc:
        raise exc.located(where=secret.ref, field="metadata.namespace") from None
    fps = [r.fingerprint for r in recipients]
    encrypted = {k: seal_value(v, recipients, label, random=random) for k, v in secret.data.items()}
    return sealed_secret_manifest(
        name=secret.name,
        namespace=secret.namespace,
        scope=scope,
        encrypted=encrypted,
        sealed_with=dict.fromkeys(encrypted, fps),
        template=_template_for(secret),
        # The controller's own marks on a Secret (kubectl get -o yaml of one it wrote) are not
        # carried over: they describe that Secret, not the SealedSecret.
        annotations={k: v for k, v in secret.annotations.items() if not reserved_key(k)},
    )


def _template_for(secret: PlainSecret) -> dict[str, Any]:
    template: dict[str, Any] = {}
    meta = template_metadata(secret)
    if meta:
        template["metadata"] = meta
    template["type"] = secret.type
    if secret.immutable is not None:
        template["immutable"] = secret.immutable
    return template


@dataclass
class Unsealed:
    """The result of opening a SealedSecret: values, which key opened each, and the RSA cost."""

    values: dict[str, bytes] = field(repr=False)
    opened_with: dict[str, str]
    private_key_ops: int


def unseal_value(
    value: str,
    keys: Sequence[KeyPair],
    label: bytes,
    *,
    hint: Sequence[str] = (),
    max_ops: int = MAX_PRIVATE_KEY_OPS,
    work: Work | None = None,
) -> tuple[bytes, str, int]:
    """Open one (possibly multi-recipient) value. Returns (plaintext, fingerprint, RSA ops).

    The hinted blob/key pairs are tried first; then every blob with every key of a matching size,
    until ``max_ops`` private-key operations are spent (then :class:`WorkBoundError`).
    """
    if not keys:
        raise DecryptError("no private key to unseal with")
    blobs = split_recipients(value)
    envelopes = [decode_blob(blob) for blob in blobs]
    index = {k.fingerprint: i for i, k in enumerate(keys)}
    attempts: list[tuple[int, int]] = []
    if len(hint) == len(blobs):
        attempts += [(b, index[fp]) for b, fp in enumerate(hint) if fp in index]
    tried = set(attempts)
    attempts += [(b, k) for b in range(len(blobs)) for k in range(len(keys)) if (b, k) not in tried]
    ops = 0
    failures: list[EnvelopeError] = []
    for b, k in attempts:
        envelope, key = envelopes[b], keys[k]
        # A key of another size cannot open it: the header gives the wrapped key's length, so
        # skip without spending an RSA operation.
        if not envelope_fits(envelope, key.private_key):
            continue
        if ops >= max_ops:
            raise WorkBoundError(
                f"opening it would take more than {max_ops} private-key operations; refused"
            )
        ops += 1
        if work is not None:
            work.ops += 1
        try:
            return hybrid_decrypt(key.private_key, envelope, label), key.fingerprint, ops
        except EnvelopeError as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    raise DecryptError(
        f"cannot decrypt with any of {len(keys)} key(s) for {len(blobs)} recipient(s): wrong key, "
        "wrong scope/namespace/name, or altered data"
    )


def unseal(
    sealed: SealedSecretDoc,
    keys: Sequence[KeyPair],
    *,
    max_ops: int = MAX_PRIVATE_KEY_OPS,
    work: Work | None = None,
) -> Unsealed:
    """Open every value of a SealedSecret; the first failure raises, naming the key.

    The plan is checked first (:func:`plan_private_key_ops`), so an object over the bound costs
    no RSA work; the fallback after a wrong hint stops once ``max_ops`` are spent in all.
    """
    plan_private_key_ops(sealed, keys, max_ops=max_ops)
    label = label_for_sealed(sealed)
    values: dict[str, bytes] = {}
    opened_with: dict[str, str] = {}
    ops = 0
    for key, value in sealed.encrypted.items():
        try:
            plain, fp, used = unseal_value(
                value,
                keys,
                label,
                hint=sealed.sealed_with.get(key, ()),
                max_ops=max_ops - ops,
                work=work,
            )
        except (EnvelopeError, WorkBoundError) as exc:
            raise exc.located(where=sealed.ref, field=f"spec.encryptedData.{key}") from None
        ops += used
        values[key] = plain
        opened_with[key] = fp
    return Unsealed(values=values, opened_with=opened_with, private_key_ops=ops)


def label_for_sealed(sealed: SealedSecretDoc) -> bytes:
    try:
        return label_for(sealed.scope, sealed.namespace, sealed.name)
    except ScopeError as exc:
        raise exc.located(where=sealed.ref, field="metadata.namespace") from None


def unsealed_secret(sealed: SealedSecretDoc, values: Mapping[str, bytes]) -> PlainSecret:
    """The Secret a SealedSecret stands for: values plus rendered ``template.data``."""
    template = sealed.template
    meta = template.get("metadata") or {}
    data = dict(values)
    tdata = template.get("data")
    if tdata:
        # Deferred: Jinja2 is needed only for templates and costs start-up time.
        from sealer.templating import render_template_data

        if not isinstance(tdata, dict):
            raise ManifestError("must be a mapping", where=sealed.ref, field="spec.template.data")
        data.update(render_template_data(tdata, values, where=sealed.ref))
    immutable = template.get("immutable")
    return PlainSecret(
        name=sealed.name,
        namespace=sealed.namespace,
        type=str(template.get("type") or "Opaque"),
        immutable=immutable if isinstance(immutable, bool) else None,
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        data=data,
    )


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
