"""Whether this replica is the active one of its kopf peering, for work kopf does not pause.

kopf pauses its own watches and handlers while a live peer of higher or equal priority is in the
peering object (``process_peering_event`` in kopf/_core/engines/peering.py), but the
controller's own work runs outside kopf's handlers and would act in every replica. The resync
and the queue's runs (retries, refreshes) ask :class:`Leader` first: it reads the same object and
applies the same rule (:func:`is_active`), as kopf writes it: ``status: {identity: {priority,
lifetime, lastseen}}``, a peer being dead once ``lastseen + lifetime`` has passed.

An answer is kept a moment (``ttl``), so a burst of runs reads the peering object once; but the
moment kopf itself pauses, a kept "active" must not outlive it: a refresh that came due in that
moment would write beside the new active peer (seen: a sync in the standby after its
"Pausing operations"). kopf does not expose its pause, but it logs every decision on its
peering logger (``kopf._core.engines.peering``) as it makes it, before it pauses:
:meth:`Leader.follow_kopf` hooks a logging filter there that drops the kept answers at each of
those records, whatever their text, so the next run reads the peering object afresh and finds
the peer kopf just found. The filter never hides a record. What stays is what kopf has too: a
run already past its check finishes (kopf does not stop a handler in flight either).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sealer.api import CLUSTER_PEERINGS, PEERINGS
from sealer.errors import SealopsError
from sealer.kube import Kube, KubeNotFound
from sealer.rfc3339 import parse_rfc3339
from sealer.version import __version__

__all__ = ["FIELD_MANAGER", "Leader", "is_active", "own_identity", "random_priority", "user_agent"]

#: The ``fieldManager`` of every write the controller makes, the same in every replica (and
#: across restarts): ``managedFields`` would otherwise gain an entry per pod that ever ran. Which
#: replica wrote is in the ``User-Agent`` (:func:`user_agent`).
FIELD_MANAGER = "sealops-controller"
#: Where kopf logs its peering decisions (kopf/_core/engines/peering.py).
KOPF_PEERING_LOGGER = "kopf._core.engines.peering"

log = logging.getLogger(__name__)


class Leader:
    """Whether this replica may act (in a namespace): standalone, or the peering's active one.

    An answer is kept ``ttl`` seconds, so a burst of queued runs reads the peering object once.
    """

    def __init__(
        self,
        kube: Kube,
        *,
        peering: str | None,
        identity: str | None,
        priority: int | None,
        clock: Callable[[], dt.datetime],
        sharded: bool = False,
        ttl: float = 2.0,
    ):
        self.kube = kube
        self.sharded = sharded  # --watch-namespace: one peering object per namespace
        self.peering = peering
        self.identity = identity
        self.priority = priority
        self.clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._answers: dict[str | None, tuple[float, bool]] = {}

    def follow_kopf(self, logger_name: str = KOPF_PEERING_LOGGER) -> None:
        """Forget the kept answers whenever kopf logs a peering decision (once per process).

        Its INFO records (pausing, resuming) must exist for that, so that logger logs at INFO at
        least, whatever ``--log-level`` says for the rest.
        """
        logger = logging.getLogger(logger_name)
        if not any(isinstance(f, _ForgetOnRecord) for f in logger.filters):
            logger.addFilter(_ForgetOnRecord(self))
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)

    def forget(self) -> None:
        """Drop the kept answers: the next question reads the peering object."""
        with self._lock:
            self._answers.clear()

    def may_renew_keys(self) -> bool:
        """Whether this replica makes due sealing keys: the cluster-wide peering's active one.

        Sharded (``--watch-namespace``), each shard has peerings of its own and none is about
        the keys' namespace: every shard may renew (the renewal slot's name makes one create win).
        """
        return self.sharded or self.is_active(None)

    def may_act_on(self, namespace: str) -> bool:
        """Whether this replica may reconcile an object in ``namespace``."""
        return self.is_active(namespace if self.sharded else None)

    def is_active(self, namespace: str | None) -> bool:
        """kopf's rule for ``namespace``'s peering (the cluster-wide one for None)."""
        peering, identity, priority = self.peering, self.identity, self.priority
        if not peering or identity is None or priority is None:
            return True  # standalone
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(namespace)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        ref, where = (PEERINGS, namespace) if namespace else (CLUSTER_PEERINGS, None)
        try:
            body = self.kube.get(ref, where, peering)
        except KubeNotFound:
            answer = False  # kopf, too, stays paused until its peering object exists
        except SealopsError as exc:
            log.warning("cannot read peering %s: %s", peering, exc)
            answer = False
        else:
            peers = body.get("status")
            answer = is_active(peers, identity=identity, priority=priority, now=self.clock())
        with self._lock:
            self._answers[namespace] = (now, answer)
        return answer


class _ForgetOnRecord(logging.Filter):
    def __init__(self, leader: Leader):
        super().__init__()
        self.leader = leader

    def filter(self, record: logging.LogRecord) -> bool:
        self.leader.forget()
        return True


def random_priority() -> int:
    """Peers with equal priority all pause; distinct random priorities make exactly one active."""
    return 1 + secrets.randbelow(2**30)


def own_identity() -> str:
    """This replica's key in the peering: the pod's name (``POD_ID``, as kopf) or a unique id."""
    pod = os.environ.get("POD_ID")
    if pod:
        return pod
    return f"sealops@{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def user_agent(identity: str) -> str:
    """The ``User-Agent`` of every request this replica makes: version and :func:`own_identity`."""
    return f"sealops-controller/{__version__} ({identity})"


def is_active(
    status: Mapping[str, Any] | None, *, identity: str, priority: int, now: dt.datetime
) -> bool:
    """True unless a live peer other than ``identity`` has a priority >= ``priority``."""
    for peer, info in (status or {}).items():
        if peer == identity or not isinstance(info, Mapping):
            continue
        if not _is_dead(info, now) and int(info.get("priority", 0)) >= priority:
            return False
    return True


def _is_dead(info: Mapping[str, Any], now: dt.datetime) -> bool:
    """Whether a peer's lifetime has passed; an unreadable entry counts as alive (so we pause)."""
    try:
        lastseen = parse_rfc3339(str(info["lastseen"]))  # kopf writes it without an offset
        lifetime = dt.timedelta(seconds=int(info.get("lifetime", 60)))
    except (KeyError, TypeError, ValueError):
        return False  # kopf counts a peer without ``lastseen`` as seen now
    return lastseen + lifetime <= now
