"""Sealing whole manifests: Secret → SealedSecret and back, merge, re-encrypt, migrate.

Pure code: keys, recipients, the random source and the clock come in as arguments. Called by the
CLI and by the controller. Plaintext lives only in memory here; errors name keys, never values.

Unsealing uses the ``sealed-with`` hint to go straight to the right private key; without a hint,
or when the hinted key fails, it falls back to every key (as Bitnami's controller does). The
number of RSA private-key operations is returned so the controller can export it as a metric.

That work is bounded: at most ``MAX_RECIPIENTS`` recipients per value, and at most ``max_ops``
private-key operations per call (``MAX_PRIVATE_KEY_OPS`` by default). :func:`plan_private_key_ops`
refuses what is over the bound before any RSA work; the fallback after a wrong hint stops at it.

The modules: :mod:`~sealer.sealing.work` (the RSA work bound), :mod:`~sealer.sealing.seal`
(plaintext to SealedSecret), :mod:`~sealer.sealing.opening` (SealedSecret to values and Secret),
:mod:`~sealer.sealing.rewrite` (merge, re-encrypt, migrate from Bitnami) and
:mod:`~sealer.sealing.bitnami` (the way back: ours as a Bitnami SealedSecret).
"""

from __future__ import annotations

from sealer.sealing.bitnami import to_bitnami
from sealer.sealing.opening import (
    Unsealed,
    secret_shell,
    unseal,
    unseal_value,
    unsealed_secret,
)
from sealer.sealing.rewrite import merge_into, migrate_bitnami, reencrypt
from sealer.sealing.seal import seal_secret, seal_value
from sealer.sealing.work import (
    MAX_PRIVATE_KEY_OPS,
    Fingerprinted,
    Work,
    WorkBoundError,
    plan_private_key_ops,
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
    "secret_shell",
    "to_bitnami",
    "unseal",
    "unseal_value",
    "unsealed_secret",
]
