"""The controller's sealing keys: loaded from Secrets, generated, renewed, looked up by fingerprint.

Key Secrets live in the controller's namespace: type ``kubernetes.io/tls``, label
``sealops.dev/sealing-key: active``, PEM in ``tls.key``/``tls.crt``. Nothing else is a key: not
another type, not a Secret the controller wrote for a user's object (``sealops.dev/managed-by``).
With Bitnami compatibility, Bitnami's key Secrets (label
``sealedsecrets.bitnami.com/sealed-secrets-key``, type ``kubernetes.io/tls``) are loaded too, for
unsealing only.

Which keys are trusted: at start, every key Secret there (restarting the controller after
applying a backup is how an operator restores or imports a key). While running, a key Secret that
appears is loaded only if the controller made it, or it is a key this process had loaded before
(a lost key's backup applied again). "Made by the controller" is the annotation
``sealops.dev/key-origin``: an HMAC of the namespace and the key's fingerprint under a key derived
from the cluster's data-hash key (``sealops-data-hash-key``), which every replica shares, so a
peer's renewal loads and nobody without that key (that is, without read access to Secrets in the
controller's namespace, which holds the private keys themselves) can mint one. Anything else is
skipped and reported (a warning, ``load_errors`` and the key-load-errors metric) until a restart.

The newest key (by certificate start, which survives backup and restore, unlike
creationTimestamp) seals; every key unseals. Renewal names the new Secret after the renewal slot
(``sealops-key-<slot>``), so replicas racing to renew create one key: the loser gets 409 and loads
the winner's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sealer.api import (
    ANN_FINGERPRINT,
    ANN_KEY_ORIGIN,
    ANN_OWNED_BY,
    BITNAMI_KEY_LABEL,
    LABEL_MANAGED_BY,
    LABEL_SEALING_KEY,
    SECRETS,
    ObjectMeta,
    metadata,
)
from sealer.errors import KeyMaterialError
from sealer.keys import KeyPair, generate_keypair, keys_from_secret, private_key_pem
from sealer.kube import Kube, KubeConflict

__all__ = [
    "KEY_TYPE",
    "KeyPolicy",
    "KeyStore",
    "Keyring",
    "key_origin",
    "key_secret",
]

KEY_TYPE = "kubernetes.io/tls"
# The mark of a Secret written for a user's object: such a Secret is never a key.
_WRITTEN_FOR_USERS = (LABEL_MANAGED_BY, ANN_OWNED_BY)
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


def key_origin(origin_key: bytes, namespace: str, fingerprint: str) -> str:
    """The ``sealops.dev/key-origin`` mark: this cluster's controller made this key here."""
    message = f"sealops key-origin v1\0{namespace}\0{fingerprint}".encode()
    mac = hmac.new(origin_key, message, hashlib.sha256).digest()
    return "hmac-sha256:" + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def key_secret(
    pair: KeyPair, *, name: str, namespace: str, origin_key: bytes | None = None
) -> dict[str, object]:
    """The ``kubernetes.io/tls`` Secret that stores a key (also the backup/restore format).

    With ``origin_key`` it carries the mark of a key the controller made (see the module doc).
    """
    annotations = {ANN_FINGERPRINT: pair.fingerprint}
    if origin_key is not None:
        annotations[ANN_KEY_ORIGIN] = key_origin(origin_key, namespace, pair.fingerprint)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": KEY_TYPE,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_SEALING_KEY: "active"},
            "annotations": annotations,
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
        origin_key: bytes | None = None,
    ):
        self.kube = kube
        self.policy = policy
        self.keyring = keyring
        self.clock = clock
        self.on_removed = on_removed
        # Marks (and checks) the keys this controller makes; None: no key that appears while
        # running is trusted but those this process made or had loaded.
        self.origin_key = origin_key
        self.load_errors: list[str] = []
        # Fingerprints loaded by this process (at start, made here, or marked as made by a peer):
        # a lost one applied again from its backup loads without a restart.
        self._trusted: set[str] = set()
        self._started = False
        self._refused: set[tuple[str, str]] = set()  # (name, resourceVersion) already reported
        # Names of key Secrets that disappeared while loaded. A new key never takes one: the
        # backup of the lost key is restored under that name, and would collide with it (a
        # conflict, or with the backup's resourceVersion stripped, the new key overwritten).
        self.removed_names: set[str] = set()

    def load(self) -> Keyring:
        """Read every key Secret; a broken one is reported and skipped, never fatal."""
        pairs: list[KeyPair] = []
        sealing: list[str] = []
        errors: list[str] = []
        sources = [(self.policy.namespace, LABEL_SEALING_KEY, True)]
        if self.policy.bitnami_namespace:
            sources.append((self.policy.bitnami_namespace, BITNAMI_KEY_LABEL, False))
        for namespace, label, may_seal in sources:
            for secret in self.kube.list(SECRETS, namespace, label_selector=label):
                meta = metadata(secret)
                where = f"Secret {namespace}/{meta.get('name')}"
                refusal = _not_a_key(secret)
                loaded: list[KeyPair] = []
                if refusal is None:
                    try:
                        loaded = keys_from_secret(secret, source=where)
                    except KeyMaterialError as exc:
                        refusal = str(exc)
                if refusal is None and may_seal:
                    untrusted = [p for p in loaded if not self._trusts(p, meta)]
                    if untrusted:
                        refusal = (
                            f"{where}: appeared while the controller runs and was not made by "
                            "it: not loaded (to restore or import a key, apply it and restart "
                            "the controller)"
                        )
                if refusal is not None:
                    errors.append(refusal if refusal.startswith(where) else f"{where}: {refusal}")
                    seen = (str(meta.get("name")), str(meta.get("resourceVersion")))
                    if seen not in self._refused:  # once per version, not every reload
                        self._refused.add(seen)
                        log.warning("skipping key Secret: %s", errors[-1])
                    continue
                state = (meta.get("labels") or {}).get(label, "")
                for pair in loaded:
                    pairs.append(pair)
                    if may_seal:
                        self._trusted.add(pair.fingerprint)
                    if may_seal and state == "active":
                        sealing.append(pair.fingerprint)
        self._started = True
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

    def _trusts(self, pair: KeyPair, meta: ObjectMeta) -> bool:
        if not self._started or pair.fingerprint in self._trusted:
            return True
        if self.origin_key is None:
            return False
        annotations = meta.get("annotations")
        mark = annotations.get(ANN_KEY_ORIGIN) if isinstance(annotations, Mapping) else None
        expected = key_origin(self.origin_key, self.policy.namespace, pair.fingerprint)
        return isinstance(mark, str) and hmac.compare_digest(mark, expected)

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

    def rotate(self, *, name: str) -> KeyPair:
        """Make a new sealing key in the key Secret ``name`` (the name :meth:`due` gives)."""
        now = self.clock()
        pair = generate_keypair(
            now=now,
            common_name=self.policy.common_name,
            key_size=self.policy.key_size,
            name=f"Secret {self.policy.namespace}/{name}",
        )
        body = key_secret(
            pair, name=name, namespace=self.policy.namespace, origin_key=self.origin_key
        )
        try:
            self.kube.create(SECRETS, self.policy.namespace, body)
            self._trusted.add(pair.fingerprint)  # made here
            log.info("generated sealing key %s in Secret %s", pair.fingerprint, name)
        except KubeConflict:
            log.info("key Secret %s was created by another replica; loading it", name)
        self.load()
        newest = self.keyring.newest()
        if newest is None:  # the name was taken by a Secret the controller did not make
            raise KeyMaterialError(
                "no sealing key: the key Secret could not be created, and the one of that name "
                "was not made by the controller (see the key-load errors)",
                where=f"Secret {self.policy.namespace}/{name}",
            )
        return newest


def _not_a_key(secret: dict[str, object]) -> str | None:
    """Why a labelled Secret is not a key whatever it holds, or None."""
    if secret.get("type") != KEY_TYPE:
        return f"is of type {str(secret.get('type'))[:64]!a}, not {KEY_TYPE}: not a key"
    meta = metadata(secret)
    marks = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    if any(mark in marks for mark in _WRITTEN_FOR_USERS):
        return "was written by sealops for a SealedSecret or VaultSecret: never a key"
    return None


def _slot_name(now: dt.datetime, period: float) -> str:
    if period <= 0:
        return "sealops-key-initial"
    return f"sealops-key-{int(now.timestamp() // period)}"
