"""Reads the credential Secrets a connection names (token, AppRole secret id, CA bundle).

Each name is checked with :func:`sealer.kube.check_name` where it is read, so a bad one is
refused naming its field and no name can point into another namespace. The Secrets come from the
connection's :attr:`~controller.connections.lookup.Connection.secrets_namespace`; a
ClusterVaultConnection's are the cluster admin's, so the tenant using it is told that one is
wrong, never its name. The resourceVersions read are kept: a changed Secret means a new resolver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.connections.errors import ConnectionInvalid, connection_name
from controller.connections.lookup import Connection
from sealer.api import SECRETS, metadata
from sealer.kube import Kube, KubeNotFound
from sealer.secretdata import SecretDataError, decode_value

__all__ = ["Credentials"]


class Credentials:
    """The credential reads of one connection, for one resolver lookup."""

    def __init__(self, kube: Kube, connection: Connection) -> None:
        self._kube = kube
        self._conn = connection
        #: resourceVersions of the Secrets read so far, in order.
        self.versions: list[str] = []

    def read(self, ref: Mapping[str, Any] | None, what: str) -> str:
        """The text under ``ref``'s key in ``ref``'s Secret; ``what`` is its field below spec."""
        ref = ref or {}
        key = str(ref.get("key") or "")
        where, field = self._conn.where, f"spec.{what}"
        if not ref.get("name") or not key:
            raise ConnectionInvalid("needs name and key", where=where, field=field)
        name = connection_name(SECRETS, ref.get("name"), field=f"{field}.name", where=where)
        namespace = self._conn.secrets_namespace
        shown = "its Secret" if self._conn.cluster_wide else f"Secret {namespace}/{name}"
        try:
            secret = self._kube.get(SECRETS, namespace, name)
        except KubeNotFound:
            raise ConnectionInvalid(f"{shown} not found", where=where, field=field) from None
        self.versions.append(str(metadata(secret).get("resourceVersion")))
        raw = (secret.get("data") or {}).get(key)
        if raw is None:
            raise ConnectionInvalid(f"{shown} has no key {key[:64]!a}", where=where, field=field)
        try:
            return decode_value(raw, key=key).decode().strip()
        except (SecretDataError, UnicodeDecodeError):
            raise ConnectionInvalid(
                f"{shown} key {key[:64]!a} is not text", where=where, field=field
            ) from None
