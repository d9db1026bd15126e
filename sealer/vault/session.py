"""Keeps one Vault token valid for many threads: login, renewal, and re-login after a 403.

:class:`TokenKeeper` applies :mod:`sealer.vault.lease` over a :class:`TokenApi` (the hvac backend
implements it; unit tests use a hand-written fake) and an injected clock. The controller calls the
resolver from kopf's handler threads, so the lease sits behind a lock, and a login or renewal
happens once while the other threads wait for its token.

A 403 on a request is ambiguous: the token may have died (expired, revoked) or the policy may deny
the path. :meth:`TokenKeeper.call` tells them apart with one ``lookup-self``: a live token means a
policy denial, surfaced as :class:`Forbidden` at once; a dead one means log in and retry once. A
403 with a token fresh from a login is a denial, so a denied path never loops on logins. (A
token without the ``default`` policy may not look itself up; it then counts as dead, which costs
one extra login before the denial surfaces.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from sealer.vault.errors import Forbidden, LoginFailed, VaultUnavailable
from sealer.vault.lease import Grant, Lease, next_step

__all__ = ["Clock", "TokenApi", "TokenKeeper"]

log = logging.getLogger("sealer.vault")

Clock = Callable[[], float]
T = TypeVar("T")


class TokenApi(Protocol):
    """The HTTP side of the token lifecycle."""

    #: Words for logs, e.g. ``approle at auth/approle``; never a credential.
    method: str
    #: Whether :meth:`login` can yield a new token (false for a fixed token).
    can_relogin: bool

    def login(self) -> Grant:
        """Log in (a fixed token: look it up). Raises :class:`LoginFailed` if refused."""
        ...

    def renew(self, token: str, *, increment: int) -> Grant | None:
        """Renew ``token``; None if Vault will not (dead token, not renewable)."""
        ...

    def is_alive(self, token: str) -> bool:
        """Whether Vault still accepts ``token`` (``lookup-self`` answers 200)."""
        ...


class TokenKeeper:
    """The current token of one resolver."""

    def __init__(self, api: TokenApi, *, clock: Clock = time.monotonic) -> None:
        self._api = api
        self._clock = clock
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        # Outages seen by logins and renewals, so threads queued behind one do not each wait
        # for their own timeout in turn.
        self._outages = 0
        self._outage: VaultUnavailable | None = None

    @property
    def lease(self) -> Lease | None:
        # No lock: error messages read it (to scrub the token) while a login may hold the lock,
        # and reading one attribute is atomic.
        return self._lease

    def token(self) -> tuple[str, bool]:
        """A token to send now, and whether it comes from a login made by this call."""
        seen = self._outages
        with self._lock:
            if self._outages != seen and self._outage is not None:
                raise self._outage.located()  # a copy: one exception object per thread
            try:
                handed = self._advance()
            except VaultUnavailable as exc:
                self._outages += 1
                self._outage = exc
                raise
            self._outage = None
            return handed

    def _advance(self) -> tuple[str, bool]:
        """Under the lock: renew or log in as the lease needs, and hand out its token."""
        now = self._clock()
        step = next_step(self._lease, now=now, can_login=self._api.can_relogin)
        if step == "renew":
            assert self._lease is not None
            grant = self._api.renew(self._lease.token, increment=self._lease.increment)
            if grant is not None:
                self._lease = self._lease.renewed(grant, now=now)
                log.debug("renewed the Vault token (%s), ttl %ss", self._api.method, grant.ttl)
                return self._lease.token, False
            step = "login" if self._api.can_relogin else "use"
        if step == "login" or self._lease is None:
            grant = self._api.login()
            self._lease = Lease.from_login(grant, now=self._clock())
            log.info(
                "logged in to Vault (%s), ttl %ss%s",
                self._api.method,
                grant.ttl,
                ", renewable" if grant.renewable else "",
            )
            return self._lease.token, grant.checked
        return self._lease.token, False

    def call(self, request: Callable[[str], T]) -> T:
        """Run ``request(token)``; on a :class:`Forbidden` from a dead token, log in, retry once."""
        token, fresh = self.token()
        try:
            return request(token)
        except LoginFailed:
            raise
        except Forbidden as denial:
            if fresh or self._api.is_alive(token):
                raise  # the policy denies it: logging in again would change nothing
            self._forget(token)
            if not self._api.can_relogin:
                raise Forbidden(
                    f"the Vault token ({self._api.method}) is invalid, expired or revoked"
                    " (or lacks the default policy to look itself up)"
                ) from denial
            log.info("the Vault token (%s) was rejected; logging in again", self._api.method)
        token, _ = self.token()
        return request(token)

    def _forget(self, token: str) -> None:
        with self._lock:
            # Another thread may already have replaced it; keep that newer token.
            if self._lease is not None and self._lease.token == token:
                self._lease = None
