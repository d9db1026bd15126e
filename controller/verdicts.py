"""From an error to what the user sees and when the controller tries again: one table, both kinds.

A sync (:meth:`controller.reconcile.Reconciler.sync`) raises a :class:`~sealer.errors.
SealopsError` when it cannot finish; :func:`rule_for` finds the first row of :data:`RULES` whose
class the error is, and the row gives the ``Ready`` reason, the retry class and, for a retry with
backoff, its first delay (``base``) and its longest (``cap``). :func:`backoff` is the one delay
function: the SealedSecret and VaultSecret retries, the Kubernetes and the Vault outages, all go
through it.

A row's retry class is its reason's (:attr:`sealer.api.Reason.retry`) unless the row says
otherwise, with its reason: an invalid connection is retried with backoff (the connection can be
fixed without touching the VaultSecret), a refused write is not (only an edit changes it).
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.connections import ConnectionForbidden, ConnectionInvalid
from controller.secretwriter import ReservedMetadata, SecretNotOwned, UpdateFailed, WriteForbidden
from sealer.api import Reason, Retry
from sealer.errors import EnvelopeError, ManifestError, SealopsError, TemplateError
from sealer.kube import KubeConflict, KubeError, KubeInvalid, KubeNotFound, KubeUnavailable
from sealer.vault import (
    Forbidden,
    InvalidReference,
    NotFound,
    VaultConfigError,
    VaultError,
    VaultUnavailable,
)

__all__ = ["RULES", "Rule", "backoff", "rule_for"]

#: The longest doubling (2**16 times the base): every cap is reached long before.
_MAX_DOUBLINGS = 16


@dataclass(frozen=True)
class Rule:
    """What an error of class ``error`` means: the reason, and when to try again."""

    error: type[SealopsError]
    reason: Reason
    retry: Retry
    base: float = 0.0  # seconds before the first retry (Retry.BACKOFF)
    cap: float = 0.0  # the longest wait between retries (Retry.BACKOFF)
    event: bool = True  # post an Event for it


def _backoff(error: type[SealopsError], reason: Reason, base: float, cap: float) -> Rule:
    return Rule(error, reason, Retry.BACKOFF, base, cap)


def _refresh(error: type[SealopsError], reason: Reason) -> Rule:
    return Rule(error, reason, Retry.REFRESH)


#: First match wins: subclasses before their bases.
RULES: tuple[Rule, ...] = (
    # The object, its template or its references are wrong: only an edit changes the answer,
    # so it is tried again only at the next refresh (a SealedSecret's: the resync).
    _refresh(ManifestError, Reason.INVALID_SPEC),  # WorkBoundError, InvalidName, ScopeError too
    _refresh(TemplateError, Reason.INVALID_SPEC),
    _refresh(ReservedMetadata, Reason.INVALID_SPEC),
    # The connection, not this object, is wrong, and can be fixed without touching it.
    _backoff(ConnectionInvalid, Reason.INVALID_SPEC, 60.0, 600.0),
    _backoff(InvalidReference, Reason.INVALID_SPEC, 60.0, 600.0),
    _backoff(VaultConfigError, Reason.INVALID_SPEC, 60.0, 600.0),
    # No key opens it: a key may yet be restored or imported. Slowly: each try is RSA work.
    _backoff(EnvelopeError, Reason.DECRYPT_FAILED, 30.0, 1800.0),
    # The Secret: someone else's, or one that cannot take the change.
    _backoff(SecretNotOwned, Reason.SECRET_NOT_OWNED, 60.0, 3600.0),
    _backoff(UpdateFailed, Reason.UPDATE_FAILED, 60.0, 3600.0),
    # A write into the controller's namespace or over a key Secret: refused until edited.
    _refresh(WriteForbidden, Reason.FORBIDDEN),
    # Vault: each may pass without anyone touching the object (a policy, a path, an outage).
    _backoff(ConnectionForbidden, Reason.FORBIDDEN, 5.0, 600.0),
    _backoff(Forbidden, Reason.FORBIDDEN, 5.0, 600.0),
    _backoff(NotFound, Reason.NOT_FOUND, 5.0, 600.0),
    _backoff(VaultUnavailable, Reason.VAULT_UNAVAILABLE, 5.0, 600.0),
    _backoff(VaultError, Reason.INVALID_SPEC, 60.0, 600.0),
    # Kubernetes. A conflict means another writer came first: again at once, and no Event.
    Rule(KubeConflict, Reason.UPDATE_FAILED, Retry.BACKOFF, 1.0, 1.0, event=False),
    _backoff(KubeUnavailable, Reason.KUBERNETES_UNAVAILABLE, 5.0, 300.0),
    # A 404 while writing: the Secret went away under the write (the retry writes it afresh).
    _backoff(KubeNotFound, Reason.UPDATE_FAILED, 5.0, 300.0),
    # A 422: the API refuses the Secret as written.
    _backoff(KubeInvalid, Reason.UPDATE_FAILED, 60.0, 3600.0),
    # Anything else from the API (401, 403: the controller's own grants; an unreadable answer):
    # it lasts until someone acts, so Degraded, and retried slowly.
    _backoff(KubeError, Reason.UPDATE_FAILED, 60.0, 3600.0),
)

#: The reasons a failure may carry, by value.
_FAILURES = {str(reason): reason for reason in Reason if not reason.ready}


def rule_for(error: SealopsError) -> Rule:
    """The first row of :data:`RULES` for ``error``'s class.

    An error no row names keeps its own reason when it is one of :class:`Reason` (else
    ``InvalidSpec``), and is retried with backoff if it says it is retryable.
    """
    for rule in RULES:
        if isinstance(error, rule.error):
            return rule
    reason = _FAILURES.get(error.reason, Reason.INVALID_SPEC)
    if error.retryable:
        return Rule(SealopsError, reason, Retry.BACKOFF, 5.0, 600.0)
    return Rule(SealopsError, reason, reason.retry, 60.0, 600.0)


def backoff(failures: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before retry number ``failures`` (1 for the first after a success).

    ``base`` doubles with each failure up to ``cap``, and is then scaled by a factor between 0.5
    and 1 (``jitter`` in [0, 1): "equal jitter"), so objects that failed together do not retry
    together; never less than a second.
    """
    doublings = min(max(failures, 1) - 1, _MAX_DOUBLINGS)
    return max(1.0, min(cap, base * 2.0**doublings) * (0.5 + 0.5 * jitter))
