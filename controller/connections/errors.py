"""Why a VaultSecret's connection cannot be used; the reconciler turns ``reason`` into its status.

SealopsError
├── ConnectionInvalid        reason InvalidSpec: the spec (or what it names) must change
│   └── ServiceAccountMissing  retried: the ServiceAccount may be created later
└── ConnectionForbidden      reason Forbidden: the tenant rules refuse it
    └── AudiencesUnknown     retried: the API server's audiences are not known yet
"""

from __future__ import annotations

from sealer.errors import SealopsError

__all__ = ["AudiencesUnknown", "ConnectionForbidden", "ConnectionInvalid", "ServiceAccountMissing"]


class ConnectionInvalid(SealopsError):
    reason = "InvalidSpec"


class ServiceAccountMissing(ConnectionInvalid):
    """Kubernetes auth names a ServiceAccount the tenant's namespace does not have.

    Not ``NotFound``, which says a Vault path is missing: the user creates the ServiceAccount or
    names another. Retried, so one created later is picked up without touching the VaultSecret.
    """

    retryable = True


class ConnectionForbidden(SealopsError):
    reason = "Forbidden"


class AudiencesUnknown(ConnectionForbidden):
    """No token is requested while the API server's own audiences are unknown; retried."""

    retryable = True
