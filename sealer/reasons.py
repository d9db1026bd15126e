"""The ``Ready`` condition's reasons, their retry classes, and the Events' own reasons.

Below every other module (the exception tree names its reasons with these), and re-exported by
:mod:`sealer.api`, which owns the rest of the API's vocabulary.
"""

from __future__ import annotations

import enum

__all__ = ["EventReason", "Reason", "Retry"]


class Retry(enum.Enum):
    """When a reconcile that ended with a reason runs again, nothing else having changed."""

    #: Not until the object itself changes (kopf calls us on every change).
    NEVER = "never"
    #: With exponential backoff and jitter: the cause may pass (an outage, a key restored).
    BACKOFF = "backoff"
    #: At the next refresh: a VaultSecret's ``refreshInterval``, a SealedSecret's resync.
    REFRESH = "refresh"


class Reason(enum.StrEnum):
    """The ``Ready`` condition's reasons, as users see them in status, Events and metrics.

    Each carries its retry class, whether it needs someone to act (Argo CD shows it as
    Degraded), and the kinds it can appear on.
    """

    retry: Retry
    degraded: bool
    kinds: frozenset[str]

    def __new__(cls, value: str, retry: Retry, degraded: bool, kinds: str) -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.retry = retry
        member.degraded = degraded
        member.kinds = frozenset(kinds.split())
        return member

    UNSEALED = "Unsealed", Retry.REFRESH, False, "SealedSecret"
    SYNCED = "Synced", Retry.REFRESH, False, "VaultSecret"
    LOGGED_IN = "LoggedIn", Retry.REFRESH, False, "VaultConnection ClusterVaultConnection"
    DELETING = "Deleting", Retry.NEVER, False, "SealedSecret VaultSecret"
    INVALID_SPEC = (
        "InvalidSpec",
        Retry.REFRESH,
        True,
        "SealedSecret VaultSecret VaultConnection ClusterVaultConnection",
    )
    DECRYPT_FAILED = "DecryptFailed", Retry.BACKOFF, True, "SealedSecret"
    FORBIDDEN = (
        "Forbidden",
        Retry.BACKOFF,
        True,
        "SealedSecret VaultSecret VaultConnection ClusterVaultConnection",
    )
    NOT_FOUND = "NotFound", Retry.BACKOFF, True, "VaultSecret"
    SECRET_NOT_OWNED = "SecretNotOwned", Retry.BACKOFF, True, "SealedSecret VaultSecret"
    UPDATE_FAILED = "UpdateFailed", Retry.BACKOFF, True, "SealedSecret VaultSecret"
    VAULT_UNAVAILABLE = (
        "VaultUnavailable",
        Retry.BACKOFF,
        False,
        "VaultSecret VaultConnection ClusterVaultConnection",
    )
    KUBERNETES_UNAVAILABLE = (
        "KubernetesUnavailable",
        Retry.BACKOFF,
        False,
        "SealedSecret VaultSecret VaultConnection ClusterVaultConnection",
    )

    @property
    def ready(self) -> bool:
        return self in (Reason.UNSEALED, Reason.SYNCED, Reason.LOGGED_IN, Reason.DELETING)

    @classmethod
    def for_kind(cls, kind: str) -> list[Reason]:
        """The reasons an object of ``kind`` can show, in declaration order."""
        return [reason for reason in cls if kind in reason.kinds]


class EventReason(enum.StrEnum):
    """Reasons of Events that are not a ``Ready`` condition."""

    ROLLOUT_RESTARTED = "RolloutRestarted"
    ROLLOUT_RESTART_FAILED = "RolloutRestartFailed"
    SEALING_KEY_REMOVED = "SealingKeyRemoved"
