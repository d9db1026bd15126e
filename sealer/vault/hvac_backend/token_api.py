"""The token lifecycle's HTTP side: the auth method's login, renewal and liveness checks.

:class:`TokenApi` is what :class:`~sealer.vault.session.TokenKeeper` drives; it hands the config's
:mod:`sealer.vault.auth` method a :class:`HvacLoginApi` (:class:`sealer.vault.auth.LoginApi` over
hvac), so each method says what it sends and this module how it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import hvac.exceptions
import hvac.utils
from hvac.exceptions import VaultError as HvacError

from sealer.vault.auth import Auth
from sealer.vault.errors import Forbidden, LoginFailed, VaultError, VaultUnavailable
from sealer.vault.hvac_backend.transport import Reject, Transport, int_or_none
from sealer.vault.lease import Grant

__all__ = ["HvacLoginApi", "TokenApi"]

log = logging.getLogger("sealer.vault")


class _RenewRefused(VaultError):
    """Vault answered a renewal but will not renew: the keeper logs in instead."""


class TokenApi:
    """The token lifecycle's HTTP side, for :class:`TokenKeeper`; the login is the method's own."""

    def __init__(self, transport: Transport, auth: Auth) -> None:
        self._transport = transport
        self._auth = auth
        self._logins = HvacLoginApi(transport)
        self.method = auth.method
        self.can_relogin = auth.can_relogin

    def login(self) -> Grant:
        return self._auth.login(self._logins)

    def renew(self, token: str, *, increment: int) -> Grant | None:
        def reject(exc: HvacError, said: str) -> VaultError | None:
            # 403: dead token. 400: "lease is not renewable". 500: "past the max TTL, cannot
            # renew". Vault is up in all three, and a login helps.
            refused = (
                hvac.exceptions.Forbidden,
                hvac.exceptions.InvalidRequest,
                hvac.exceptions.InternalServerError,
            )
            return (
                _RenewRefused(f"Vault will not renew the token{said}")
                if isinstance(exc, refused)
                else None
            )

        try:
            body = self._transport.send(
                "renew",
                "renewing the token",
                lambda c: c.auth.token.renew_self(increment=f"{increment}s"),
                token=token,
                reject=reject,
            )
        except _RenewRefused as exc:
            log.debug("%s (%s); logging in instead", exc.message, self.method)
            return None
        return _grant(body, "renewing the token")

    def is_alive(self, token: str) -> bool:
        try:
            self._transport.send(
                "lookup", "checking the token", lambda c: c.auth.token.lookup_self(), token=token
            )
        except Forbidden:
            return False
        return True


class HvacLoginApi:
    """What an auth method may ask of Vault (:class:`sealer.vault.auth.LoginApi`), over hvac."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def login(self, mount: str, body: Mapping[str, str], *, method: str) -> Grant:
        url = hvac.utils.format_url("/v1/auth/{mount_point}/login", mount_point=mount)
        action = f"logging in ({method})"
        answer = self._transport.send(
            "login",
            action,
            lambda c: c.adapter.post(url, json=dict(body)),
            token=None,
            reject=_refused(method),
        )
        return _grant(answer, action)

    def lookup(self, token: str, *, method: str) -> Grant:
        answer = self._transport.send(
            "lookup", f"logging in ({method})", lambda c: c.auth.token.lookup_self(), token=token
        )
        data = answer.get("data") or {}
        ttl = int_or_none(data.get("ttl")) or 0
        return Grant(token=token, ttl=ttl, renewable=bool(data.get("renewable")))


def _refused(method: str) -> Reject:
    def reject(exc: HvacError, said: str) -> VaultError | None:
        # 400 (bad role or secret id), 401/403 (refused), 404 (no such auth mount).
        refused = (
            hvac.exceptions.InvalidRequest,
            hvac.exceptions.Unauthorized,
            hvac.exceptions.Forbidden,
            hvac.exceptions.InvalidPath,
        )
        if isinstance(exc, refused):
            return LoginFailed(f"Vault refused the login ({method}){said}")
        return None

    return reject


def _grant(body: Mapping[str, Any], action: str) -> Grant:
    auth = body.get("auth") or {}
    token = auth.get("client_token")
    if not isinstance(token, str) or not token:
        raise VaultUnavailable(f"Vault answered {action} without a token")
    return Grant(
        token=token,
        ttl=int_or_none(auth.get("lease_duration")) or 0,
        renewable=bool(auth.get("renewable")),
    )
