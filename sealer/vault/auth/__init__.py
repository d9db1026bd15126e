"""How a resolver logs in to Vault: one module per auth method, each its settings and its login.

    token       TokenAuth       a fixed token: looked up for its TTL, renewed, never replaced
    approle     AppRoleAuth     role_id and secret_id at ``auth/<mount>/login``
    kubernetes  KubernetesAuth  a ServiceAccount JWT (a file, or a source) at ``auth/<mount>/login``

Each is a frozen dataclass satisfying :class:`Auth`: pure settings (credentials kept out of
``repr``, so a config can be logged) plus ``login``, which speaks to Vault only through a
:class:`LoginApi`. :mod:`sealer.vault.hvac_backend` implements that API (the one module that talks
to hvac) and hands it to the method on every login; the
:class:`~sealer.vault.session.TokenKeeper` decides when. A new method is a new module here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sealer.vault.auth.approle import AppRoleAuth
from sealer.vault.auth.kubernetes import JwtSource, KubernetesAuth
from sealer.vault.auth.token import TokenAuth
from sealer.vault.lease import Grant

__all__ = ["AppRoleAuth", "Auth", "JwtSource", "KubernetesAuth", "LoginApi", "TokenAuth"]


class LoginApi(Protocol):
    """What an auth method may ask of Vault while it logs in."""

    def login(self, mount: str, body: Mapping[str, str], *, method: str) -> Grant:
        """POST ``body`` to ``auth/<mount>/login`` without a token.

        :class:`~sealer.vault.errors.LoginFailed` if Vault refuses (400, 401, 403, 404).
        """
        ...

    def lookup(self, token: str, *, method: str) -> Grant:
        """``lookup-self`` with ``token``: its TTL and renewability.

        :class:`~sealer.vault.errors.Forbidden` if Vault will not answer it for this token.
        """
        ...


class Auth(Protocol):
    """One auth method's settings and how it logs in."""

    @property
    def method(self) -> str:
        """Words for logs and messages, e.g. ``approle at auth/approle``; never a credential."""
        ...

    @property
    def can_relogin(self) -> bool:
        """Whether :meth:`login` can yield a new token (false for a fixed token)."""
        ...

    def login(self, api: LoginApi) -> Grant:
        """A token to use: a login (a fixed token: its lookup). Raises only Vault errors, except
        that an error a JWT source raises on purpose (a SealopsError) passes through."""
        ...

    def credentials(self) -> tuple[str, ...]:
        """The secrets this method holds, to scrub from any text Vault sends back."""
        ...
