"""The resolver that talks to a real Vault or OpenBao: the only package importing hvac.

    resolver    :class:`HvacResolver`: mounts, KV v1 and v2 reads, what their answers mean
    token_api   the token's HTTP side: the auth method's login, renewal, liveness
    transport   one request: count it, send it, translate hvac and requests errors, once

:class:`HvacResolver` implements :class:`~sealer.vault.resolver.Resolver` for one
:class:`~sealer.vault.config.VaultConfig`. The controller keeps one per connection (and, with
Kubernetes auth, per tenant ServiceAccount) and calls it from kopf's sync handler threads; the
renderer keeps one per run and reads in parallel.
"""

from __future__ import annotations

from sealer.vault.hvac_backend.resolver import HvacResolver

__all__ = ["HvacResolver"]
