"""KV engine rules shared by every resolver: mounts, KV v1 versus v2, versions, what "missing" says.

Pure apart from a lock. :class:`MountCache` remembers what ``sys/internal/ui/mounts/<path>`` said
per mount, so a resolver asks once per mount; :func:`place` checks a location against its mount.
Used by :mod:`sealer.vault.hvac_backend` and the tests' in-memory fake, so both fail alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from sealer.vault.errors import Forbidden, InvalidReference, NotFound
from sealer.vault.refs import SecretLocation, split_mount

__all__ = [
    "KvVersion",
    "MountCache",
    "MountInfo",
    "no_mount",
    "not_found",
    "place",
    "version_gone",
]

KvVersion = Literal[1, 2]


@dataclass(frozen=True)
class MountInfo:
    """A KV mount: its path without slashes (``team/kv``) and its engine version."""

    path: str
    kv_version: KvVersion


class MountCache:
    """Mounts seen so far, looked up by longest prefix. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mounts: dict[str, MountInfo] = {}

    def find(self, path: str) -> MountInfo | None:
        with self._lock:
            split = split_mount(path, self._mounts)
            return None if split is None else self._mounts[split[0]]

    def add(self, mount: MountInfo) -> None:
        with self._lock:
            self._mounts[mount.path] = mount

    def __len__(self) -> int:
        with self._lock:
            return len(self._mounts)


def place(location: SecretLocation, mount: MountInfo) -> str:
    """The path inside ``mount``; :class:`InvalidReference` if the location cannot live there."""
    split = split_mount(location.path, [mount.path])
    if split is None:
        raise InvalidReference(f"Vault path {location.path!r} is not under mount {mount.path!r}")
    if location.mount is not None and location.mount != mount.path:
        raise InvalidReference(
            f"Vault API path for {location.path!r} puts the mount at {location.mount!r}, "
            f"but the server's mount is {mount.path!r}"
        )
    if location.kv_version is not None and location.kv_version != mount.kv_version:
        # An argocd-vault-plugin path with /data/ on a KV v1 mount names another secret.
        raise InvalidReference(
            f"Vault API path for {location.path!r} is written for KV v{location.kv_version}, "
            f"but mount {mount.path!r} is KV v{mount.kv_version}"
        )
    if location.version is not None and mount.kv_version == 1:
        raise InvalidReference(
            f"Vault secret {location.path!r} is on KV v1 mount {mount.path!r}, "
            f"which has no versions: remove #{location.version}"
        )
    return split[1]


def no_mount(path: str) -> Forbidden:
    """What Vault's mount lookup answers for a path on no mount: 403, as for a mount we may not
    read (it will not say which)."""
    return Forbidden(
        f"no Vault mount for {path!r} that this token may read "
        "(no such mount, or its policies grant nothing there)"
    )


def not_found(location: SecretLocation) -> NotFound:
    if location.version is not None:
        return NotFound(f"Vault secret {location.path!r} has no version {location.version}")
    return NotFound(f"no Vault secret at {location.path!r}")


def version_gone(location: SecretLocation, *, version: int | None, destroyed: bool) -> NotFound:
    """A KV v2 version that exists but whose data was deleted (recoverable) or destroyed."""
    which = f"version {version}" if version is not None else "the current version"
    if location.version is None:
        which = f"the current version ({version})" if version is not None else which
    how = "destroyed" if destroyed else "deleted (it can be undeleted)"
    return NotFound(f"Vault secret {location.path!r}: {which} was {how}")
