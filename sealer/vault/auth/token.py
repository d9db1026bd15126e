"""Token auth: a fixed token (``VAULT_TOKEN``, a token Secret), renewed if renewable, not replaced.

Its "login" is a ``lookup-self``, to learn the TTL and whether it is renewable. A token Vault
will not look up (dead, or without the ``default`` policy) is used as it is, unchecked, and the
first real request tells (see :class:`~sealer.vault.session.TokenKeeper`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sealer.vault.errors import Forbidden
from sealer.vault.lease import Grant

if TYPE_CHECKING:
    from sealer.vault.auth import LoginApi

__all__ = ["TokenAuth"]

log = logging.getLogger("sealer.vault")


@dataclass(frozen=True)
class TokenAuth:
    """A fixed token."""

    token: str = field(repr=False)

    @property
    def method(self) -> str:
        return "token"

    @property
    def can_relogin(self) -> bool:
        return False

    def login(self, api: LoginApi) -> Grant:
        try:
            return api.lookup(self.token, method=self.method)
        except Forbidden:
            # Dead, or a token without the default policy, which may not look itself up:
            # use it as it is, and let the first real request tell.
            log.debug("cannot look up the Vault token (%s): using it unrenewed", self.method)
            return Grant(token=self.token, ttl=0, renewable=False, checked=False)

    def credentials(self) -> tuple[str, ...]:
        return (self.token,)
