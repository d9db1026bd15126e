"""The controller's sealing keys: loaded from Secrets, generated, renewed, looked up by fingerprint.

Key Secrets live in the controller's namespace: type ``kubernetes.io/tls``, label
``sealops.dev/sealing-key: active``, PEM in ``tls.key``/``tls.crt``. Any such Secret is loaded, so
keys are restored or imported by applying them. With Bitnami compatibility, Bitnami's key Secrets
(label ``sealedsecrets.bitnami.com/sealed-secrets-key``) are loaded too, for unsealing only.

The newest key (by certificate start, which survives backup and restore, unlike
creationTimestamp) seals; every key unseals. Renewal names the new Secret after the renewal slot
(``sealops-key-<slot>``), so replicas racing to renew create one key: the loser gets 409 and loads
the winner's.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sealer.errors import KeyMaterialError
from sealer.keys import KeyPair, generate_keypair, keys_from_secret, private_key_pem
from sealer.kube import SECRETS, Kube, KubeConflict

__all__ = [
    "BITNAMI_KEY_LABEL",
    "KEY_LABEL",
    "KeyPolicy",
    "KeyStore",
    "Keyring",
    "key_secret",
]

KEY_LABEL = "sealops.dev/sealing-key"
BITNAMI_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)

log = logging.getLogger(__name__)


class Keyring:
    """The keys in memory. Thread-safe: kopf's handler threads and the HTTP server share it."""

    def __init__(self, pairs: Sequence[KeyPair] = ()):
        self._lock = threading.Lock()
        self._keys: dict[str, KeyPair] = {}
        self._sealing: set[str] = set()
        self.replace(pairs, sealing=[p.fingerprint for p in pairs])

    def replace(self, pairs: Sequence[KeyPair], *, sealing: Sequence[str]) -> None:
        """Swap in a freshly loaded set; ``sealing`` names the keys allowed to seal."""
        with self._lock:
            self._keys = {p.fingerprint: p for p in pairs}
            self._sealing = set(sealing) & set(self._keys)

    def all(self) -> list[KeyPair]:
        """Every key, newest first (the order in which to try them without a hint)."""
        with self._lock:
            return sorted(self._keys.values(), key=_created, reverse=True)

    def get(self, fingerprint: str) -> KeyPair | None:
        with self._lock:
            return self._keys.get(fingerprint)

    def newest(self) -> KeyPair | None:
        """The key that seals: the newest one allowed to seal."""
        with self._lock:
            candidates = [self._keys[fp] for fp in self._sealing]
        return max(candidates, key=_created, default=None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


def _created(pair: KeyPair) -> dt.datetime:
    return pair.created or _NEVER


@dataclass(frozen=True)
class KeyPolicy:
    """When to make a new key. ``renew_period`` 0 turns renewal off."""

    namespace: str
    renew_period: float = 30 * 86400.0
    cutoff: dt.datetime | None = None
    bitnami_namespace: str | None = None  # set to load Bitnami's keys too
    key_size: int = 4096
    common_name: str = "sealed-secret"


def key_secret(pair: KeyPair, *, name: str, namespace: str) -> dict[str, object]:
    """The ``kubernetes.io/tls`` Secret that stores a key (also the backup/restore format)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {KEY_LABEL: "active"},
            "annotations": {"sealops.dev/fingerprint": pair.fingerprint},
        },
        "data": {
            "tls.crt": base64.b64encode(pair.certificate_pem()).decode("ascii"),
            "tls.key": base64.b64encode(private_key_pem(pair.private_key)).decode("ascii"),
        },
    }


class KeyStore:
    """Loads keys from the API into a :class:`Keyring` and makes new ones when due."""

    def __init__(
        self,
        *,
        kube: Kube,
        policy: KeyPolicy,
        keyring: Keyring,
        clock: Callable[[], dt.datetime],
        on_removed: Callable[[KeyPair], None] | None = None,
    ):
        self.kube = kube
        self.policy = policy
        self.keyring = keyring
        self.clock = clock
        self.on_removed = on_removed
        self.load_errors: list[str] = []
        # Names of key Secrets that disappeared while loaded. A new key never takes one: the
        # backup of the lost key is restored under that name, and would collide with it (a
        # conflict, or with the backup's resourceVersion stripped, the new key overwritten).
        self.removed_names: set[str] = set()

    def load(self) -> Keyring:
        """Read every key Secret; a broken one is reported and skipped, never fatal."""
        pairs: list[KeyPair] = []
        sealing: list[str] = []
        errors: list[str] = []
        sources = [(self.policy.namespace, KEY_LABEL, True)]
        if self.policy.bitnami_namespace:
            sources.append((self.policy.bitnami_namespace, BITNAMI_KEY_LABEL, False))
        for namespace, label, may_seal in sources:
            for secret in self.kube.list(SECRETS, namespace, label_selector=label):
                meta = secret.get("metadata") or {}
                where = f"Secret {namespace}/{meta.get('name')}"
                try:
                    loaded = keys_from_secret(secret, source=where)
                except KeyMaterialError as exc:
                    errors.append(str(exc))
                    log.warning("skipping key Secret: %s", exc)
                    continue
                state = (meta.get("labels") or {}).get(label, "")
                for pair in loaded:
                    pairs.append(pair)
                    if may_seal and state == "active":
                        sealing.append(pair.fingerprint)
        self.load_errors = errors
        before = self.keyring.all()
        self.keyring.replace(pairs, sealing=sealing)
        # A key Secret was deleted: say so loudly. Nothing else changes: no Secret is deleted,
        # and SealedSecrets sealed only for that key fail on their next sync until it is back.
        for pair in before:
            if self.keyring.get(pair.fingerprint) is None:
                self.removed_names.add(pair.name.rpartition("/")[2])
                if self.on_removed is not None:
                    self.on_removed(pair)
        return self.keyring

    def due(self) -> str | None:
        """The name for a new key if one is due now, else None."""
        now = self.clock()
        newest = self.keyring.newest()
        period = self.policy.renew_period
        if newest is None:
            return self._unused(_slot_name(now, period))
        created = _created(newest)
        if self.policy.cutoff is not None and created < self.policy.cutoff <= now:
            return self._unused(f"sealops-key-cutoff-{int(self.policy.cutoff.timestamp())}")
        if period > 0 and now - created >= dt.timedelta(seconds=period):
            return self._unused(_slot_name(now, period))
        return None

    def _unused(self, name: str) -> str:
        """``name``, or ``name-2``, ``-3``… if a removed key had it (the same for every replica
        that saw the removal, so racing replicas still agree on one name)."""
        candidate, count = name, 1
        while candidate in self.removed_names:
            count += 1
            candidate = f"{name}-{count}"
        return candidate

    def ensure_current(self) -> KeyPair | None:
        """Generate and store a key if none exists or the newest is due for renewal.

        Returns the new key, or None if nothing was due. Racing replicas agree on the name; the
        one that loses the create gets 409 and loads the winner's key instead.
        """
        name = self.due()
        if name is None:
            return None
        return self.rotate(name=name)

    def rotate(self, *, name: str | None = None) -> KeyPair:
        """Make a new sealing key now (``--key-renew-period`` or an operator's request)."""
        now = self.clock()
        name = name or f"sealops-key-{int(now.timestamp())}"
        pair = generate_keypair(
            now=now,
            common_name=self.policy.common_name,
            key_size=self.policy.key_size,
            name=f"Secret {self.policy.namespace}/{name}",
        )
        body = key_secret(pair, name=name, namespace=self.policy.namespace)
        try:
            self.kube.create(SECRETS, self.policy.namespace, body)
            log.info("generated sealing key %s in Secret %s", pair.fingerprint, name)
        except KubeConflict:
            log.info("key Secret %s was created by another replica; loading it", name)
        self.load()
        newest = self.keyring.newest()
        assert newest is not None
        return newest


def _slot_name(now: dt.datetime, period: float) -> str:
    if period <= 0:
        return "sealops-key-initial"
    return f"sealops-key-{int(now.timestamp() // period)}"
