"""A (Cluster)VaultConnection's own status: whether it can log in, checked as a VaultSecret would.

Called by the kopf handlers (create/update/resume) and by the queue (the next check), through
:class:`controller.reconcile.Reconciler`, which turns errors into reasons and retries, and
reports: ``Ready`` (``LoggedIn``, or why not) with ``Reconciling``/``Stalled``, as for the
other kinds. The sync is one login with a session of its own
(:meth:`controller.connections.Connections.check`): on every change of the connection, then
every :data:`CHECK_INTERVAL` (spread by jitter), and after a failure with the table's backoff,
never later than the next check. Each login is bounded by the connection's Vault timeout, and
the token it made is given back. An event that changes nothing the login depends on (a label
edit, a resume) within :data:`MIN_SPACING` of a successful check of the same generation does
not log in again: a tenant's edits cannot make it spend an AppRole's ``secret_id`` uses.

A VaultSecret does not wait for its connection's status: it reads through the connection as it
is, and reports its own failures.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from controller.connections import Connections
from controller.metrics import Metrics
from controller.reconcile import Context, Outcome, Queue, Reconciler
from controller.reporting import Reporter
from sealer.api import (
    CLUSTER_VAULT_CONNECTION,
    CLUSTER_VAULT_CONNECTIONS,
    READY,
    VAULT_CONNECTION,
    VAULT_CONNECTIONS,
    Reason,
    metadata,
    object_key,
    spec,
    status,
)
from sealer.kube import Kube

__all__ = ["CHECK_INTERVAL", "ClusterVaultConnectionReconciler", "VaultConnectionReconciler"]

#: Seconds between two login checks of an unchanged connection that works.
CHECK_INTERVAL = 600.0
#: Seconds within which a working connection's generation is not checked again.
MIN_SPACING = 60.0


class VaultConnectionReconciler(Reconciler):
    kind = VAULT_CONNECTION
    ref = VAULT_CONNECTIONS
    resynced = False  # no Secret of its own: the queue's next check is its resync

    def __init__(
        self,
        *,
        kube: Kube,
        connections: Connections,
        reporter: Reporter,
        metrics: Metrics,
        interval: float = CHECK_INTERVAL,
        jitter: Callable[[], float] = random.random,
        queue: Queue | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(
            kube=kube,
            reporter=reporter,
            outcomes=metrics.connection_checks,
            jitter=jitter,
            queue=queue,
        )
        self.connections = connections
        self.interval = interval
        self.clock = clock
        #: The last successful check of each connection: its generation, when, what it said.
        self._checked: dict[str, tuple[object, float, str]] = {}

    def sync(self, body: Mapping[str, Any], ctx: Context) -> Outcome:
        ctx.refresh = self.interval
        ctx.longest_retry = self.interval
        key, generation = object_key(body), metadata(body).get("generation")
        last = self._checked.get(key)
        recent = last is not None and self.clock() - last[1] < MIN_SPACING
        if last is not None and recent and last[0] == generation and _was_ready(body):
            return Outcome(Reason.LOGGED_IN, last[2], event=False)
        tenant = self.connections.check(self.kind, body)
        address = _shown(spec(body).get("address"))
        who = f" as namespace {tenant}'s ServiceAccount" if tenant else ""
        message = f"logged in to {address}{who}"
        self._checked[key] = (generation, self.clock(), message)
        # An Event when it starts working, not at every check.
        return Outcome(Reason.LOGGED_IN, message, event=not _was_ready(body))

    def forget(self, key: str) -> None:
        super().forget(key)
        self._checked.pop(key, None)


class ClusterVaultConnectionReconciler(VaultConnectionReconciler):
    kind = CLUSTER_VAULT_CONNECTION
    ref = CLUSTER_VAULT_CONNECTIONS


def _shown(address: object) -> str:
    """The address as ``scheme://host[:port]``: never a user or password written into it."""
    parts = urllib.parse.urlsplit(str(address or ""))
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"[:256]


def _was_ready(body: Mapping[str, Any]) -> bool:
    conditions = status(body).get("conditions") or []
    return any(c.get("type") == READY and c.get("status") == "True" for c in conditions)
