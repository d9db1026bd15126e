"""Why a VaultSecret's connection cannot be used; the reconciler turns ``reason`` into its status.

SealopsError
├── ConnectionInvalid        reason InvalidSpec: the spec (or what it names) must change
│   └── ServiceAccountMissing  retried: the ServiceAccount may be created later
└── ConnectionForbidden      reason Forbidden: the tenant rules refuse it
    └── AudiencesUnknown     retried: the API server's audiences are not known yet
"""

from __future__ import annotations

from typing import Any

from sealer.errors import ManifestError, SealopsError
from sealer.kube import ResourceRef, check_name
from sealer.reasons import Reason

__all__ = [
    "AudiencesUnknown",
    "ConnectionForbidden",
    "ConnectionInvalid",
    "ServiceAccountMissing",
    "connection_name",
]


class ConnectionInvalid(SealopsError):
    reason: str = Reason.INVALID_SPEC


class ServiceAccountMissing(ConnectionInvalid):
    """Kubernetes auth names a ServiceAccount the tenant's namespace does not have.

    Not ``NotFound``, which says a Vault path is missing: the user creates the ServiceAccount or
    names another. Retried, so one created later is picked up without touching the VaultSecret.
    """

    retryable = True


class ConnectionForbidden(SealopsError):
    reason: str = Reason.FORBIDDEN


class AudiencesUnknown(ConnectionForbidden):
    """No token is requested while the API server's own audiences are unknown; retried."""

    retryable = True


def connection_name(ref: ResourceRef, value: Any, *, field: str, where: str) -> str:
    """:func:`~sealer.kube.check_name` for a name a connection holds: a bad one is the
    connection's fault (``ConnectionInvalid``, retried), not the VaultSecret's."""
    try:
        return check_name(ref, value, field=field, where=where)
    except ManifestError as exc:
        raise ConnectionInvalid(exc.message, where=exc.where, field=exc.field) from None
