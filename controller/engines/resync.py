"""The resync: every ``--resync-interval``, what a lost watch event or a lost status patch hid.

For each namespace watched (all, or each ``--watch-namespace``), in the active replica only
(:class:`~controller.engines.leader.Leader`), and for each kind (SealedSecret, VaultSecret):

- an object Ready for its generation whose managed Secret is missing or no longer matches its
  data hash is reconciled (drift a lost Secret event hid);
- an object not Ready for its generation, unchanged since the previous pass, is read afresh and
  reconciled (a reconcile kopf dropped when the API failed its status patch: kopf then ignores
  the object until its next watch event, which may never come). Not sooner: an object merely in
  kopf's backlog is kopf's, and a stale body of a since-deleted one must not get its Secret back.
  This is also when a SealedSecret whose reason retries "at the next refresh" (``InvalidSpec``,
  ``Forbidden``) is tried again;
- the locks and failure counts of objects no longer listed are dropped.

A kind whose CRD is not installed (Bitnami's, with ``--bitnami-compat``) is skipped, with a
warning; the other kinds are resynced all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from controller.engines.leader import Leader
from controller.metrics import Metrics
from controller.reconcile import Reconciler
from controller.secretwriter import SecretWriter
from sealer.api import (
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    READY,
    SECRETS,
    metadata,
    object_key,
    status,
)
from sealer.kube import Kube, KubeNotFound

__all__ = ["Resync", "converged"]

log = logging.getLogger(__name__)

#: (kind, namespace/name) of an object not converged at the last pass -> its resourceVersion.
Stuck = dict[tuple[str, str], str]


def converged(body: Mapping[str, Any]) -> bool:
    """Ready=True, written for the object's current generation."""
    state = status(body)
    ready = any(
        c.get("type") == READY and c.get("status") == "True" for c in state.get("conditions") or []
    )
    return ready and state.get("observedGeneration") == metadata(body).get("generation")


class Resync:
    def __init__(
        self,
        *,
        kube: Kube,
        writer: SecretWriter,
        reconcilers: Mapping[str, Reconciler],
        leader: Leader,
        metrics: Metrics,
        namespaces: Sequence[str] = (),
        interval: float = 600.0,
    ):
        self.kube = kube
        self.writer = writer
        self.reconcilers = reconcilers  # by kind
        self.leader = leader
        self.metrics = metrics
        self.namespaces = tuple(namespaces)
        self.interval = interval
        self.stuck: Stuck = {}

    async def serve(self) -> None:
        """Run :meth:`once` every interval, in an executor (cancel the task to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            try:
                await loop.run_in_executor(None, self.once)
            except Exception:
                log.exception("resync failed")

    def once(self) -> None:
        for namespace in self.namespaces or (None,):
            if not self.leader.is_active(namespace):
                log.debug("resync skipped in %s: a peer is active", namespace or "all namespaces")
                continue
            self._namespace(namespace)

    def _namespace(self, namespace: str | None) -> None:
        listed = self.kube.list(
            SECRETS, namespace, label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
        )
        secrets = {object_key(s): s for s in listed}
        stuck: Stuck = {}
        for reconciler in self.reconcilers.values():
            if not reconciler.resynced:
                continue
            present = set()
            known = reconciler.known()  # before the listing: see Reconciler.retain
            try:
                bodies = self.kube.list(reconciler.ref, namespace)
            except KubeNotFound:  # its CRD is not installed (Bitnami's, say): the others go on
                log.warning("resync: cannot list %s: its CRD is not installed", reconciler.kind)
                continue
            for body in bodies:
                present.add(object_key(body))
                try:
                    self._check(reconciler, body, secrets, stuck)
                except Exception as exc:  # one object's bug must not end the pass for all
                    log.error("resync: %s %s failed (%s): the pass goes on",
                              reconciler.kind, object_key(body), type(exc).__name__)  # fmt: skip
            reconciler.retain(present, known, namespace)
        kept = {} if namespace is None else {k: v for k, v in self.stuck.items()
                                             if not k[1].startswith(f"{namespace}/")}  # fmt: skip
        self.stuck = {**kept, **stuck}

    def _check(
        self,
        reconciler: Reconciler,
        body: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, Any]],
        stuck: Stuck,
    ) -> None:
        meta = metadata(body)
        key = object_key(body)
        if meta.get("deletionTimestamp"):
            return  # garbage collection has its Secret
        if not converged(body):
            version = meta.get("resourceVersion", "")
            entry = stuck[(reconciler.kind, key)] = version
            if self.stuck.get((reconciler.kind, key)) == entry:
                self._reconcile_stuck(reconciler, key, version)
            return
        name = reconciler.secret_name(body)
        if name is None:
            return  # no managed Secret of its own to check
        secret = secrets.get(f"{meta.get('namespace', '')}/{name}")
        if (
            secret is None
            or not self.writer.in_sync(secret)
            or reconciler.confirms(body, secret) is False
        ):
            log.info("resync: the Secret of %s %s is %s: restoring it", reconciler.kind, key,
                     "missing" if secret is None else "changed")  # fmt: skip
            self.metrics.drift.labels(reconciler.kind).inc()
            reconciler.reconcile(body)

    def _reconcile_stuck(self, reconciler: Reconciler, key: str, version: str) -> None:
        namespace, _, name = key.partition("/")
        try:
            body = self.kube.get(reconciler.ref, namespace, name)
        except KubeNotFound:
            reconciler.forget(key)
            return
        if metadata(body).get("resourceVersion") != version:
            return  # it moved on: kopf has it
        log.info("resync: %s %s is not Ready for its generation", reconciler.kind, key)
        reconciler.reconcile(body)
