"""Opening SealedSecrets: the values, the key that opened each, and the Secret they stand for.

Unsealing uses the ``sealed-with`` hint to go straight to the right private key; without a hint,
or when the hinted key fails, it falls back to every key (as Bitnami's controller does), within
the work bound of :mod:`sealer.sealing.work`. :func:`unsealed_secret` builds the Secret,
rendering ``template.data`` in the dialect the object names: Jinja2, or Go ``text/template`` when
``sealops.dev/template-engine`` says ``go`` (either engine is imported only then).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealer.envelope import (
    decode_blob,
    envelope_fits,
    hybrid_decrypt,
    label_for,
    split_recipients,
)
from sealer.errors import DecryptError, EnvelopeError, ManifestError, ScopeError
from sealer.keys import KeyPair
from sealer.manifests import PlainSecret, SealedSecretDoc
from sealer.sealing.work import MAX_PRIVATE_KEY_OPS, Work, WorkBoundError, plan_private_key_ops

__all__ = [
    "Unsealed",
    "label_for_sealed",
    "size_mismatch",
    "unseal",
    "unseal_value",
    "unsealed_secret",
]


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
    skipped: list[bytes] = []
    for b, k in attempts:
        envelope, key = envelopes[b], keys[k]
        # A key of another size cannot open it: the header gives the wrapped key's length, so
        # skip without spending an RSA operation.
        if not envelope_fits(envelope, key.private_key):
            skipped.append(envelope)
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
    if not failures and skipped:
        raise size_mismatch(skipped, keys)
    raise DecryptError(
        f"cannot decrypt with any of {len(keys)} key(s) for {len(blobs)} recipient(s): wrong key, "
        "wrong scope/namespace/name, or altered data"
    )


def size_mismatch(envelopes: Sequence[bytes], keys: Sequence[KeyPair]) -> DecryptError:
    """No key has the size the blobs were made for: say which sizes, as ``hybrid_decrypt`` does."""
    made = sorted({8 * int.from_bytes(e[:2], "big") for e in envelopes if len(e) >= 2})
    have = sorted({k.private_key.key_size for k in keys})
    made_for = " or ".join(f"{n}-bit" for n in made) or "another"
    given = ", ".join(f"{n}-bit" for n in have)
    return DecryptError(f"sealed value was made for a {made_for} key, not the given {given} key(s)")


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


def _render(
    sealed: SealedSecretDoc, tdata: Mapping[str, Any], values: Mapping[str, bytes]
) -> dict[str, bytes]:
    """``template.data`` in the dialect the object names (``sealops.dev/template-engine``)."""
    if sealed.template_engine == "go":
        from sealer.gotemplate import render_go_template_data

        return render_go_template_data(tdata, values, where=sealed.ref)
    # Deferred: Jinja2 is needed only for templates and costs start-up time.
    from sealer.templating import render_template_data

    return render_template_data(tdata, values, where=sealed.ref)


def secret_shell(sealed: SealedSecretDoc) -> PlainSecret:
    """The Secret a SealedSecret stands for, without data: name, type, labels, annotations."""
    template = sealed.template
    meta = template.get("metadata") or {}
    immutable = template.get("immutable")
    return PlainSecret(
        name=sealed.name,
        namespace=sealed.namespace,
        type=str(template.get("type") or "Opaque"),
        immutable=immutable if isinstance(immutable, bool) else None,
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        data={},
    )


def unsealed_secret(sealed: SealedSecretDoc, values: Mapping[str, bytes]) -> PlainSecret:
    """The Secret a SealedSecret stands for: values plus rendered ``template.data``."""
    data = dict(values)
    tdata = sealed.template.get("data")
    if tdata:
        if not isinstance(tdata, dict):
            raise ManifestError("must be a mapping", where=sealed.ref, field="spec.template.data")
        data.update(_render(sealed, tdata, values))
    return dataclasses.replace(secret_shell(sealed), data=data)
