"""The queue's runs: a retry or refresh that came due, for either kind.

Every reconcile leaves its next run in the one queue (:class:`~controller.scheduler.Scheduler`,
entries ``Kind/namespace/name``); when it comes due, :class:`QueueRuns` hands it to its kind's
reconciler, which reads the object afresh (:meth:`~controller.reconcile.Reconciler.run_queued`).
A replica that is not the active one drops the run: kopf pauses its handlers too, and resumes
every object (queueing it again) when the replica becomes active.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from controller.engines.leader import Leader
from controller.reconcile import Reconciler, split_queue_key

__all__ = ["QueueRuns"]

log = logging.getLogger(__name__)


class QueueRuns:
    def __init__(self, *, reconcilers: Mapping[str, Reconciler], leader: Leader):
        self.reconcilers = reconcilers  # by kind
        self.leader = leader

    def __call__(self, entry: str) -> None:
        kind, key = split_queue_key(entry)
        reconciler = self.reconcilers.get(kind)
        if reconciler is None:
            log.warning("queue entry %s names no kind of ours", entry)
            return
        if not self.leader.may_act_on(key.partition("/")[0]):
            log.debug("queued run of %s dropped: a peer is active", entry)
            return
        reconciler.run_queued(key)
