"""When to renew a Vault token and when to log in again: pure decisions over an injected clock.

Used by :class:`sealer.vault.session.TokenKeeper`, which does the HTTP side. Rules:

- renew at about two thirds of the TTL granted by the last login or renewal, if renewable;
- a renewal that grants less than asked was capped by the token's max TTL: the token is near
  its end, so the next step at two thirds of that short TTL is a fresh login, not a renewal;
- a token past its expiry is never renewed (Vault refuses): log in again;
- a token whose login granted TTL 0 (root, some fixed tokens) never expires: just use it.

Fixed tokens cannot log in again; for them a dead token simply stays dead (a ``Forbidden``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["RENEW_AT", "Grant", "Lease", "Step", "next_step"]

#: Fraction of the TTL after which a token is renewed (or replaced).
RENEW_AT = 2 / 3

Step = Literal["use", "renew", "login"]


@dataclass(frozen=True)
class Grant:
    """What a login, a renewal or a lookup of a token answered."""

    token: str = field(repr=False)
    ttl: int
    renewable: bool
    #: Vault accepted the token in this answer. False for a fixed token that could not be
    #: looked up: a 403 on its first request must still be checked for a dead token.
    checked: bool = True


@dataclass(frozen=True)
class Lease:
    """A token in use, and when it was granted on our clock."""

    token: str = field(repr=False)
    granted_at: float
    ttl: int
    renewable: bool
    #: The TTL the login granted; renewals ask for as much again.
    increment: int
    #: The last renewal got less than ``increment``: the max TTL is near.
    capped: bool = False

    @classmethod
    def from_login(cls, grant: Grant, *, now: float) -> Lease:
        return cls(
            token=grant.token,
            granted_at=now,
            ttl=grant.ttl,
            renewable=grant.renewable,
            increment=grant.ttl,
        )

    def renewed(self, grant: Grant, *, now: float) -> Lease:
        return replace(
            self,
            granted_at=now,
            ttl=grant.ttl,
            renewable=grant.renewable,
            capped=grant.ttl < self.increment,
        )

    @property
    def expires_at(self) -> float:
        return self.granted_at + self.ttl

    @property
    def renew_at(self) -> float:
        return self.granted_at + self.ttl * RENEW_AT


def next_step(lease: Lease | None, *, now: float, can_login: bool) -> Step:
    """What to do before the next request with ``lease`` at time ``now``."""
    if lease is None:
        return "login"
    # A login TTL of 0 never expires; a renewal's 0 is the max TTL cutting the lease to nothing.
    if lease.increment == 0 or now < lease.renew_at:
        return "use"
    if now < lease.expires_at and lease.renewable and not lease.capped:
        return "renew"
    # Expired, capped, or not renewable: only a new login helps; a fixed token rides it out.
    return "login" if can_login else "use"
