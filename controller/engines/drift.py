"""Drift correction: a managed Secret edited or deleted is put back from its source object.

kopf calls :meth:`Drift.check` for every watch event of a Secret labelled
``sealops.dev/managed-by: sealops`` (kopf pauses it in a standby replica). The Secret's
``sealops.dev/owned-by`` annotation names its source (``Kind/name``); the source is read afresh
and reconciled, unless it is gone or being deleted (garbage collection removes its Secret) or
the Secret still matches its data hash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from controller.metrics import Metrics
from controller.reconcile import Reconciler
from controller.secretwriter import SecretWriter
from sealer.api import ANN_OWNED_BY, metadata
from sealer.errors import SealopsError
from sealer.kube import Kube, KubeNotFound

__all__ = ["Drift"]

log = logging.getLogger(__name__)


class Drift:
    def __init__(
        self,
        *,
        kube: Kube,
        writer: SecretWriter,
        reconcilers: Mapping[str, Reconciler],
        metrics: Metrics,
    ):
        self.kube = kube
        self.writer = writer
        self.reconcilers = reconcilers  # by kind
        self.metrics = metrics

    def check(self, event: Mapping[str, Any]) -> None:
        """A watch event of a managed Secret: restore it if it was deleted or edited."""
        secret = event.get("object") or {}
        meta = metadata(secret)
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        owner_kind, _, owner_name = (
            (meta.get("annotations") or {}).get(ANN_OWNED_BY, "").partition("/")
        )
        reconciler = self.reconcilers.get(owner_kind)
        if reconciler is None or not owner_name:
            return
        deleted = event.get("type") == "DELETED"
        if not deleted and self.writer.in_sync(secret):
            return
        try:
            body = self.kube.get(reconciler.ref, namespace, owner_name)
        except KubeNotFound:
            reconciler.forget(f"{namespace}/{owner_name}")
            return  # the owner is gone; garbage collection removes its Secret
        except SealopsError as exc:
            log.warning("drift check of Secret %s/%s: %s", namespace, name, exc)
            return
        if metadata(body).get("deletionTimestamp"):
            return
        log.info("Secret %s/%s was %s: restoring it", namespace, name,
                 "deleted" if deleted else "edited")  # fmt: skip
        self.metrics.drift.labels(owner_kind).inc()
        reconciler.reconcile(body)
