"""The queue's runs: a retry or refresh that came due, for either kind.

Every reconcile leaves its next run in the one queue (:class:`~controller.scheduler.Scheduler`,
entries ``Kind/namespace/name``); when it comes due, :class:`QueueRuns` hands it to its kind's
reconciler, which reads the object afresh (:meth:`~controller.reconcile.Reconciler.run_queued`).
A replica that is not the active one (kopf pauses its handlers too) makes no run, and keeps it:
it asks again after ``standby_delay`` seconds. A replica that was active before and becomes
active again gets no second ``resume`` from kopf, so a dropped run would never come back; and a
replica that cannot read the peering object for a moment counts as a standby.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from controller.engines.leader import Leader
from controller.reconcile import Queue, Reconciler, split_queue_key

__all__ = ["QueueRuns"]

log = logging.getLogger(__name__)


class QueueRuns:
    def __init__(
        self,
        *,
        reconcilers: Mapping[str, Reconciler],
        leader: Leader,
        standby_delay: float = 30.0,
    ):
        self.reconcilers = reconcilers  # by kind
        self.leader = leader
        self.standby_delay = standby_delay
        self.queue: Queue | None = None  # the queue these runs come from (set once it exists)

    def __call__(self, entry: str) -> None:
        kind, key = split_queue_key(entry)
        reconciler = self.reconcilers.get(kind)
        if reconciler is None:
            log.warning("queue entry %s names no kind of ours", entry)
            return
        if not self.leader.may_act_on(key.partition("/")[0]):
            log.debug("queued run of %s kept for later: a peer is active", entry)
            if self.queue is not None:
                self.queue.schedule(entry, self.standby_delay)
            return
        reconciler.run_queued(key)
