"""One reconcile, the same for both kinds: lock → sync → verdict → metrics → report → requeue.

:class:`Reconciler` is the skeleton; :class:`~controller.sealedsecrets.SealedSecretReconciler`
and :class:`~controller.vaultsecrets.VaultSecretReconciler` give it their :meth:`~Reconciler.sync`,
which either returns an :class:`Outcome` or raises a :class:`~sealer.errors.SealopsError`. The
rest is here, once:

- **lock**: one lock per object (:class:`~controller.locks.KeyedLocks`): kopf's handlers, the
  drift watch, the resync and the queue never reconcile one object at once;
- **verdict**: an error becomes a reason and a retry class through the one table,
  :mod:`controller.verdicts`;
- **metrics**: the kind's counter of reconciles by result and reason;
- **report**: the ``Ready`` condition and the status fields (or kopf's patch, ``status_sink``)
  and an Event (:class:`~controller.reporting.Reporter`);
- **requeue**: the next run in the queue (:class:`~controller.scheduler.Scheduler`): a retry
  with :func:`~controller.verdicts.backoff`, a refresh, or none.

It is the one retry path: kopf's handlers never raise ``TemporaryError``; every retry, of either
kind, is a run of the queue, which reads the object afresh (:meth:`Reconciler.run_queued`).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from controller.locks import KeyedLocks
from controller.reporting import Reporter, StatusSink, Verdict
from controller.verdicts import Rule, backoff, rule_for
from sealer.api import Kind, Reason, Retry, object_key
from sealer.errors import SealopsError
from sealer.kube import Kube, KubeNotFound, ResourceRef

__all__ = ["Context", "Outcome", "Queue", "Reconciler", "Result", "queue_key", "split_queue_key"]

log = logging.getLogger(__name__)


class Queue(Protocol):
    """Where the next run of an object goes (:class:`~controller.scheduler.Scheduler`)."""

    def schedule(self, key: str, delay: float) -> None: ...

    def cancel(self, key: str) -> None: ...


def queue_key(kind: str, key: str) -> str:
    """``Kind/namespace/name``: one entry per object in the queue shared by both kinds."""
    return f"{kind}/{key}"


def split_queue_key(entry: str) -> tuple[str, str]:
    """``(kind, namespace/name)`` of a queue entry."""
    kind, _, key = entry.partition("/")
    return kind, key


@dataclass
class Context:
    """One sync's inputs, and what it learns on the way, kept when it fails."""

    where: str  # "Kind namespace/name", for messages
    fresh: bool = False  # the user changed the object: read afresh, start backoff afresh
    #: Status fields known so far (``secretName``): reported whether the sync ends well or not.
    status: dict[str, Any] = field(default_factory=dict)
    #: Seconds between refreshes (Retry.REFRESH); None: the kind has none (the resync's).
    refresh: float | None = None
    #: A retry with backoff waits no longer than this (None: the table's cap).
    longest_retry: float | None = None


@dataclass(frozen=True)
class Outcome:
    """A sync that finished: ``Unsealed``, ``Synced`` or ``Deleting``."""

    reason: Reason
    message: str
    event: bool = True
    event_message: str | None = None  # the Event's text, when it says more than the status


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    next_run: float | None  # seconds until the next run (a retry or a refresh); None = none


class Outcomes(Protocol):
    """A counter of reconciles by result and reason (``controller.metrics``' Prometheus one)."""

    def labels(self, *values: str) -> Any: ...


class Reconciler(abc.ABC):
    """The reconcile skeleton; a kind gives :attr:`kind`, :attr:`ref` and :meth:`sync`."""

    kind: ClassVar[Kind]
    ref: ClassVar[ResourceRef]
    #: Also report Bitnami's ``Synced`` condition (a bitnami.com kind).
    synced: ClassVar[bool] = False
    #: Listed by the resync (:mod:`controller.engines.resync`); a kind without a Secret of its
    #: own (a connection) is not: its queued check is its resync.
    resynced: ClassVar[bool] = True

    def __init__(
        self,
        *,
        kube: Kube,
        reporter: Reporter,
        outcomes: Outcomes,
        jitter: Callable[[], float] = random.random,
        queue: Queue | None = None,
    ):
        self.kube = kube
        self.reporter = reporter
        self.outcomes = outcomes  # reconciles by result and reason
        self.jitter = jitter
        self.queue = queue  # None: the caller schedules (tests look at Result.next_run)
        self.locks = KeyedLocks()
        self._failures: dict[str, int] = {}  # failures in a row, for the backoff

    @abc.abstractmethod
    def sync(self, body: Mapping[str, Any], ctx: Context) -> Outcome:
        """Make the object's Secret what its spec says; raise a SealopsError if it cannot."""

    def confirms(self, body: Mapping[str, Any], secret: Mapping[str, Any]) -> bool | None:
        """Whether ``secret`` is still what ``body`` made (beyond its data hash), or None when
        this kind cannot tell (the resync then trusts the data hash)."""
        return None

    def secret_name(self, body: Mapping[str, Any]) -> str | None:
        """The managed Secret the resync checks for this object (None: none to check)."""
        return None

    def reconcile(
        self, body: Mapping[str, Any], *, status_sink: StatusSink | None = None, fresh: bool = False
    ) -> Result:
        """One reconcile; the status is patched, or given to ``status_sink`` (kopf's patch).

        ``fresh``: the user just changed the object (or asked for a sync): no cached read serves
        it, and a failure starts its backoff afresh.
        """
        key = object_key(body)
        with self.locks(key):
            if fresh:
                self._failures.pop(key, None)
            ctx = Context(where=f"{self.kind} {key}", fresh=fresh)
            verdict, rule = self._verdict(body, ctx)
            next_run = self._next_run(key, verdict, rule, ctx)
        if not verdict.ready:
            verdict = dataclasses.replace(verdict, retry_after=next_run)
        self.outcomes.labels("success" if verdict.ready else "error", verdict.reason).inc()
        self.reporter.report(self.ref, body, verdict, status_sink=status_sink, synced=self.synced)
        self._requeue(key, next_run)
        return Result(verdict, next_run)

    def run_queued(self, key: str) -> None:
        """A retry or refresh that came due: read the object afresh and reconcile it."""
        namespace, _, name = key.partition("/")
        try:
            body = self.kube.get(self.ref, namespace if self.ref.namespaced else None, name)
        except KubeNotFound:
            self.forget(key)
            return
        except SealopsError as exc:  # the API is down: the run is not lost, only later
            rule = rule_for(exc)
            with self.locks(key):
                failures = self._failures[key] = self._failures.get(key, 0) + 1
            log.warning("cannot read %s %s for its queued run: %s", self.kind, key, exc)
            delay = backoff(failures, rule.base or 5.0, rule.cap or 300.0, self.jitter())
            self._requeue(key, delay)
            return
        self.reconcile(body)

    def forget(self, key: str) -> None:
        """The object is gone: drop its lock, its failure count and its queued run."""
        self.locks.forget(key)
        self._failures.pop(key, None)
        if self.queue is not None:
            self.queue.cancel(queue_key(self.kind, key))

    def known(self) -> set[str]:
        """The objects this reconciler holds anything for (a lock, a failure count)."""
        return set(self.locks.keys()) | set(self._failures)

    def retain(
        self, present: Collection[str], known: Collection[str], namespace: str | None = None
    ) -> None:
        """Forget each object of ``known`` (in ``namespace``, or anywhere) not in ``present``.

        ``known`` is :meth:`known` taken before the listing that gave ``present``: an object
        created since is in neither, and must keep its lock and its queued run.
        """
        prefix = "" if namespace is None else f"{namespace}/"
        for key in known:
            if key.startswith(prefix) and key not in present:
                self.forget(key)

    def _verdict(self, body: Mapping[str, Any], ctx: Context) -> tuple[Verdict, Rule | None]:
        try:
            outcome = self.sync(body, ctx)
        except SealopsError as exc:
            rule = rule_for(exc)
            extra = dict(ctx.status) or None
            return Verdict(False, rule.reason, str(exc), extra, event=rule.event), rule
        verdict = Verdict(
            True,
            outcome.reason,
            outcome.message,
            dict(ctx.status) or None,
            event=outcome.event,
            event_message=outcome.event_message,
        )
        return verdict, None

    def _next_run(
        self, key: str, verdict: Verdict, rule: Rule | None, ctx: Context
    ) -> float | None:
        if verdict.ready:
            self._failures.pop(key, None)
        retry = verdict.reason.retry if rule is None else rule.retry
        if retry is Retry.NEVER:
            return None
        if retry is Retry.REFRESH:
            if ctx.refresh is None or ctx.refresh <= 0:
                return None  # the resync's (a SealedSecret), or never ("0": sync once)
            return ctx.refresh * (0.9 + 0.2 * self.jitter())  # spread: not all at once
        if rule is None:
            return None  # no finished sync retries with backoff
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        cap = rule.cap if ctx.longest_retry is None else min(rule.cap, ctx.longest_retry)
        return backoff(failures, rule.base, cap, self.jitter())

    def _requeue(self, key: str, next_run: float | None) -> None:
        if self.queue is None:
            return
        entry = queue_key(self.kind, key)
        if next_run is None:
            self.queue.cancel(entry)
        else:
            self.queue.schedule(entry, next_run)
