"""The keyed data hash on managed Secrets: detects drift and skips writes that change nothing.

``sealops.dev/data-hash`` holds HMAC-SHA256 over the Secret's managed keys and values, keyed with
a random per-cluster key kept in the Secret ``sealops-data-hash-key`` in the controller's
namespace. Keyed, so the annotation reveals nothing about the values (a plain hash of a short
password is a dictionary attack away) and cannot be forged by someone who edits the data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Mapping

from sealer.api import SECRETS
from sealer.kube import Kube, KubeConflict, KubeNotFound
from sealer.secretdata import decode_value

__all__ = ["HASH_KEY_SECRET", "DataHasher", "load_or_create_hasher"]

HASH_KEY_SECRET = "sealops-data-hash-key"  # noqa: S105 - a Secret name, not a password
_PREFIX = "hmac-sha256:"

log = logging.getLogger(__name__)


class DataHasher:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("data-hash key too short")
        self._key = key

    def digest(self, data: Mapping[str, bytes], keys: Iterable[str] | None = None) -> str:
        """HMAC over ``data`` (or only ``keys`` of it), length-prefixed so no two inputs collide."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for key in sorted(data if keys is None else keys):
            value = data.get(key)
            encoded = key.encode()
            mac.update(len(encoded).to_bytes(4, "big") + encoded)
            if value is None:
                mac.update(b"\xff\xff\xff\xff")
            else:
                mac.update(len(value).to_bytes(4, "big") + value)
        return _PREFIX + base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")

    def derive(self, purpose: str) -> bytes:
        """A key for another purpose (``key-origin``), independent of the data-hash digests."""
        return hmac.new(
            self._key, f"sealops derive v1\0{purpose}".encode(), hashlib.sha256
        ).digest()

    def matches(
        self, expected: str | None, data: Mapping[str, bytes], keys: Iterable[str] | None = None
    ) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII text (a tenant may write any).
        return bool(expected) and hmac.compare_digest(
            str(expected).encode(), self.digest(data, keys).encode()
        )


def load_or_create_hasher(kube: Kube, namespace: str) -> DataHasher:
    """The cluster's hash key; the first replica to start creates it."""
    for _ in range(3):
        try:
            secret = kube.get(SECRETS, namespace, HASH_KEY_SECRET)
            raw = (secret.get("data") or {}).get("key", "")
            return DataHasher(decode_value(raw, key="key", where=_where(namespace)))
        except KubeNotFound:
            pass
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": HASH_KEY_SECRET, "namespace": namespace,
                         "labels": {"app.kubernetes.io/part-of": "sealops"}},
            "data": {"key": base64.b64encode(os.urandom(32)).decode("ascii")},
        }  # fmt: skip
        try:
            kube.create(SECRETS, namespace, body)
            log.info("created data-hash key Secret %s/%s", namespace, HASH_KEY_SECRET)
        except KubeConflict:
            continue
    secret = kube.get(SECRETS, namespace, HASH_KEY_SECRET)
    raw = (secret.get("data") or {}).get("key", "")
    return DataHasher(decode_value(raw, key="key", where=_where(namespace)))


def _where(namespace: str) -> str:
    return f"Secret {namespace}/{HASH_KEY_SECRET}"
