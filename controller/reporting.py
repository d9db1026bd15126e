"""Status and Events: how the controller tells users what happened.

Messages come from :class:`sealer.errors.SealopsError` strings, which name objects and fields and
never values. The conditions (``Ready``, ``Reconciling``, ``Stalled``, and Bitnami's ``Synced`` on
a bitnami.com object) are :mod:`controller.conditions`'; only a status that differs from the
body's is written.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from controller.conditions import kstatus_conditions, synced_condition, timestamp
from sealer.api import (
    EVENTS,
    Condition,
    EventReason,
    ObjectMeta,
    Reason,
    metadata,
    status,
)
from sealer.kube import Kube, KubeError, ResourceRef

__all__ = ["Reporter", "StatusSink", "Verdict"]

# Takes a status to write instead of the Reporter: kopf's handler hands it to kopf, which sends it
# in the same PATCH as its own diff base.
StatusSink = Callable[[dict[str, Any]], None]

log = logging.getLogger(__name__)
_COMPONENT = "sealops-controller"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one reconcile, as the user will see it."""

    ready: bool
    reason: Reason
    message: str
    extra_status: Mapping[str, Any] | None = None
    event: bool = True  # post an Event for it
    event_message: str | None = None  # defaults to ``message``
    retry_after: float | None = None  # seconds until the retry; None = none until it changes

    @property
    def stalled(self) -> bool:
        """kstatus's Stalled: a failure only a change ends, its reason one that needs someone
        (:attr:`~sealer.reasons.Reason.degraded`). A failure without an Event is a write
        conflict (another writer came first), retried at once: Reconciling, not Stalled."""
        return not self.ready and self.reason.degraded and self.event


class Reporter:
    def __init__(self, *, kube: Kube, clock: Callable[[], dt.datetime]):
        self.kube = kube
        self.clock = clock

    def report(
        self,
        ref: ResourceRef,
        body: Mapping[str, Any],
        verdict: Verdict,
        *,
        status_sink: StatusSink | None = None,
        synced: bool = False,
    ) -> None:
        """Patch the object's status (or give it to ``status_sink``) and post an Event.

        ``synced``: also Bitnami's ``Synced`` condition (a bitnami.com object).

        Only a status that differs from the body's is written or given. Failures are logged,
        not raised.
        """
        meta = metadata(body)
        old = status(body)
        previous = old.get("conditions")
        new: dict[str, Any] = {
            "observedGeneration": meta.get("generation"),
            "conditions": kstatus_conditions(
                previous,
                ready=verdict.ready,
                stalled=verdict.stalled,
                reason=verdict.reason,
                message=verdict.message,
                # Bitnami's CRD would prune a per-condition observedGeneration.
                generation=None if synced else meta.get("generation"),
                now=self.clock(),
            ),
            **(verdict.extra_status or {}),
        }
        if synced:
            new["conditions"] = synced_condition(
                new["conditions"], ready=verdict.ready, message=verdict.message, now=self.clock()
            )
        fields: dict[str, Any] = dict(old)
        if any(fields.get(k) != v for k, v in new.items() if k != "conditions") or _differs(
            previous, new["conditions"]
        ):
            if status_sink is not None:
                status_sink(new)
            else:
                self._patch_status(ref, meta, new)
        if verdict.event:
            self.event(
                body,
                kind="Normal" if verdict.ready else "Warning",
                reason=verdict.reason,
                message=verdict.message,
            )

    def _patch_status(self, ref: ResourceRef, meta: ObjectMeta, new: dict[str, Any]) -> None:
        try:
            self.kube.patch(
                ref,
                meta.get("namespace"),
                str(meta.get("name")),
                {"status": new},
                subresource="status",
            )
        except KubeError as exc:
            log.warning(
                "cannot update status of %s/%s: %s", meta.get("namespace"), meta.get("name"), exc
            )

    def event(
        self,
        body: Mapping[str, Any],
        *,
        kind: Literal["Normal", "Warning"],
        reason: Reason | EventReason,
        message: str,
    ) -> None:
        meta = metadata(body)
        namespace = meta.get("namespace") or "default"
        now = timestamp(self.clock())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name')}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": body.get("apiVersion"),
                "kind": body.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": kind,
            "reason": str(reason),
            "message": message[:1024],
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": _COMPONENT},
            "reportingComponent": _COMPONENT,
        }
        try:
            self.kube.create(EVENTS, namespace, event)
        except KubeError as exc:
            log.warning(
                "cannot post Event %s for %s/%s: %s", reason, namespace, meta.get("name"), exc
            )


def _differs(old: list[Condition] | None, new: list[Condition]) -> bool:
    return (old or []) != new
