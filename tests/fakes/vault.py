"""An in-memory :class:`~sealer.vault.resolver.Resolver`, for unit tests of controller and renderer.

It follows the same KV rules as the hvac backend (:mod:`sealer.vault.kv`): mounts with a KV
version, KV v2 version history with delete and destroy, denied paths and outages, and it records
every read so tests can count them. Not thread-safe beyond what the GIL gives; tests drive it.
What it claims is held to the real server by ``tests/integration/vault/test_conformance.py``,
which runs the same tests against it and against OpenBao.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sealer.vault.errors import Forbidden, VaultUnavailable
from sealer.vault.kv import KvVersion, MountInfo, no_mount, not_found, place, version_gone
from sealer.vault.refs import SecretLocation, split_mount
from sealer.vault.resolver import SecretData, stringify

__all__ = ["FakeVault"]


@dataclass
class _Version:
    data: dict[str, str] | None
    raw: dict[str, object] | None = None
    destroyed: bool = False


class FakeVault:
    """Mounts, secrets and failures kept in dicts. ``reads`` lists the locations read, in order."""

    def __init__(self) -> None:
        self._mounts: dict[str, MountInfo] = {}
        self._secrets: dict[str, list[_Version]] = {}
        self._denied: set[str] = set()
        self.available = True
        self.reads: list[SecretLocation] = []
        self.closed = False

    def mount(self, path: str, *, kv_version: KvVersion = 2) -> None:
        self._mounts[path.strip("/")] = MountInfo(path=path.strip("/"), kv_version=kv_version)

    def put(self, path: str, data: Mapping[str, object]) -> int:
        """Write a new version (KV v1 keeps only the last one); return its number."""
        mount = self._mount_of(path)
        versions = self._secrets.setdefault(path, [])
        if mount.kv_version == 1:
            versions.clear()
        versions.append(_Version(data=stringify(data), raw=dict(data)))
        return len(versions)

    def delete(self, path: str, version: int) -> None:
        self._secrets[path][version - 1].data = None

    def destroy(self, path: str, version: int) -> None:
        entry = self._secrets[path][version - 1]
        entry.data, entry.raw, entry.destroyed = None, None, True

    def deny(self, path: str) -> None:
        """Reads of ``path`` fail as a policy denial does."""
        self._denied.add(path)

    def read(self, location: SecretLocation) -> SecretData:
        self.reads.append(location)
        if not self.available:
            raise VaultUnavailable("cannot reach Vault at fake://vault: connection refused")
        if location.path in self._denied:
            raise Forbidden(f"permission denied reading Vault secret {location.path!r}")
        split = split_mount(location.path, self._mounts)
        if split is None:
            raise no_mount(location.path)  # as Vault's mount lookup answers
        mount = self._mounts[split[0]]
        place(location, mount)
        versions = self._secrets.get(location.path)
        if not versions:
            raise not_found(location)
        number = location.version or len(versions)
        if number > len(versions):
            raise not_found(location)
        entry = versions[number - 1]
        if entry.data is None:
            raise version_gone(location, version=number, destroyed=entry.destroyed)
        return SecretData(
            location=location,
            data=dict(entry.data),
            version=number if mount.kv_version == 2 else None,
            raw=None if entry.raw is None else dict(entry.raw),
        )

    def forget(self, location: SecretLocation) -> None:
        """Nothing kept between reads: every read sees the dicts as they are."""

    def close(self) -> None:
        self.closed = True

    def _mount_of(self, path: str) -> MountInfo:
        split = split_mount(path, self._mounts)
        if split is None:
            raise KeyError(f"no mount for {path!r}: mount() it first")  # a test's own mistake
        return self._mounts[split[0]]
