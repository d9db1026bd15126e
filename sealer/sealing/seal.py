"""Sealing plaintext: one value, or a whole Secret into a SealedSecret manifest.

Every value is sealed for every recipient under the label of the Secret's scope; the manifest
carries the key hint (``sealed-with``) and the Secret's template (type, labels, annotations).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sealer.envelope import (
    MAX_RECIPIENTS,
    RandomSource,
    Scope,
    encode_blob,
    hybrid_encrypt,
    join_recipients,
    label_for,
)
from sealer.errors import ManifestError, ScopeError
from sealer.keys import Recipient
from sealer.manifests import (
    PlainSecret,
    reserved_key,
    scope_from_annotations,
    sealed_secret_manifest,
    template_metadata,
)

__all__ = ["seal_secret", "seal_value"]


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
