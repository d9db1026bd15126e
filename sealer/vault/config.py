"""How to reach one Vault: the settings a VaultConnection or the renderer's env gives.

Pure data. The controller builds a :class:`VaultConfig` from a (Cluster)VaultConnection, the
renderer from ``VAULT_ADDR``/``VAULT_TOKEN``/…; :mod:`sealer.vault.hvac_backend` consumes it.
How to log in is its ``auth``, one of :mod:`sealer.vault.auth`'s methods. Credentials are kept
out of ``repr`` so a config can be logged.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sealer.vault.auth import Auth
from sealer.vault.errors import VaultConfigError

__all__ = ["VaultConfig", "kv_version_from_spec"]


@dataclass(frozen=True)
class VaultConfig:
    """One connection. ``kv_version`` None means detect per mount; 1 or 2 pins it for all mounts.

    ``ca_file`` and ``ca_pem`` are alternatives (a path, or PEM text from a Secret); with
    neither, the system trust store verifies https addresses.
    """

    address: str
    auth: Auth
    namespace: str | None = None
    ca_file: Path | None = None
    ca_pem: str | None = None
    kv_version: Literal[1, 2] | None = None
    timeout: float = 10.0

    @property
    def shown(self) -> str:
        """The address for messages: without any ``user:password@`` written into it."""
        parts = urllib.parse.urlsplit(self.address)
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:256]

    def __post_init__(self) -> None:
        if not self.address.startswith(("http://", "https://")):
            raise VaultConfigError(f"Vault address {self.shown!r} must start with http(s)://")
        if self.ca_file is not None and self.ca_pem is not None:
            raise VaultConfigError("give a CA bundle as a file or as PEM text, not both")
        if self.timeout <= 0:
            raise VaultConfigError(f"Vault timeout must be positive, not {self.timeout}")


def kv_version_from_spec(value: object) -> Literal[1, 2] | None:
    """``kvVersion: auto|1|2`` from a spec (string or integer) to ``VaultConfig.kv_version``."""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool):  # True == 1 in Python; a YAML `true` is not a version
        raise VaultConfigError(f"kvVersion must be auto, 1 or 2, not {value!r}")
    if value in (1, "1"):
        return 1
    if value in (2, "2"):
        return 2
    raise VaultConfigError(f"kvVersion must be auto, 1 or 2, not {value!r}")
