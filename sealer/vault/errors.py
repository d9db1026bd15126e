"""Errors of the Vault/OpenBao layer, one type per thing a caller does differently.

Raised by :mod:`sealer.vault.refs` (bad references) and by the resolvers (the hvac backend and the
in-memory fake). The controller turns ``reason`` into the ``Ready`` condition's reason and
``retryable`` into its retry policy; the renderer prints ``str(err)`` and exits non-zero.

    SealopsError
    └── VaultError            base; not raised itself
        ├── VaultUnavailable  retryable: connection refused, timeout, 5xx, 429, sealed
        ├── Forbidden         the token may not do this (policy denial, dead token)
        │   └── LoginFailed   the auth method refused us, or its credentials cannot be read
        ├── NotFound          no mount, no secret, no such version (deleted/destroyed), no field
        ├── InvalidReference  a reference does not parse or cannot apply (version on KV v1)
        └── VaultConfigError  a connection's settings are unusable (bad kvVersion, 2 JWT sources)

Messages name the reference, path, mount or field, never a secret value or a token: callers log
them and put them in statuses and Events as they are.
"""

from __future__ import annotations

from sealer.errors import SealopsError
from sealer.reasons import Reason

__all__ = [
    "Forbidden",
    "InvalidReference",
    "LoginFailed",
    "NotFound",
    "VaultConfigError",
    "VaultError",
    "VaultUnavailable",
]


class VaultError(SealopsError):
    reason = "VaultError"


class VaultUnavailable(VaultError):
    retryable = True
    reason: str = Reason.VAULT_UNAVAILABLE


class Forbidden(VaultError):
    reason: str = Reason.FORBIDDEN


class LoginFailed(Forbidden):
    reason: str = Reason.FORBIDDEN


class NotFound(VaultError):
    reason: str = Reason.NOT_FOUND


class InvalidReference(VaultError):
    reason: str = Reason.INVALID_SPEC


class VaultConfigError(VaultError):
    reason: str = Reason.INVALID_SPEC
