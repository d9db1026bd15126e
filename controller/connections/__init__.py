"""From a VaultSecret's ``connectionRef`` to a Vault resolver, enforcing tenant isolation.

One module per step of :meth:`Connections.resolver_for`:

    lookup       which (Cluster)VaultConnection, by kind, and the tenant rule (allowedNamespaces)
    credentials  the credential Secrets it names, from the namespace its kind allows
    auth         its ``spec.auth`` as a :mod:`sealer.vault.auth` method
    tokens       Kubernetes auth: the tenant's ServiceAccount tokens, never for the API server
    resolvers    the resolver cache per (connection, tenant), and closing the replaced ones
    errors       why a connection cannot be used (reasons InvalidSpec and Forbidden)

A message never says what exists outside the tenant's namespace.
"""

from __future__ import annotations

from controller.connections.errors import (
    AudiencesUnknown,
    ConnectionForbidden,
    ConnectionInvalid,
    ServiceAccountMissing,
)
from controller.connections.resolvers import Connections, ResolverFactory
from controller.connections.tokens import DEFAULT_API_AUDIENCES

__all__ = [
    "DEFAULT_API_AUDIENCES",
    "AudiencesUnknown",
    "ConnectionForbidden",
    "ConnectionInvalid",
    "Connections",
    "ResolverFactory",
    "ServiceAccountMissing",
]
