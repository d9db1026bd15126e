"""Status conditions and Events: how the controller tells users what happened.

Messages come from :class:`sealer.errors.SealopsError` strings, which name objects and fields and
never values. ``lastTransitionTime`` changes only when the condition's status flips, as the
Kubernetes API conventions ask, so a steady state writes nothing new.

A bitnami.com SealedSecret (``synced``) also gets Bitnami's ``Synced`` condition, first in the
list (Bitnami's CRD prints ``conditions[0]``), as Bitnami's controller writes it: ``status``
True or False, the failure's ``message`` (none when True), no ``reason``, ``lastUpdateTime`` and
``lastTransitionTime`` set when the status flips. Argo CD's built-in health check for
bitnami.com SealedSecrets reads it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sealer.api import (
    EVENTS,
    READY,
    SYNCED,
    Condition,
    EventReason,
    ObjectMeta,
    Reason,
    metadata,
    status,
)
from sealer.kube import Kube, KubeError, ResourceRef

__all__ = ["Reporter", "StatusSink", "Verdict", "ready_condition", "synced_condition"]

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


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_condition(
    previous: list[Condition] | None,
    *,
    ready: bool,
    reason: Reason,
    message: str,
    now: dt.datetime,
) -> list[Condition]:
    state: Literal["True", "False"] = "True" if ready else "False"
    old = next((c for c in previous or [] if c.get("type") == READY), None)
    changed = old is None or old.get("status") != state
    condition: Condition = {
        "type": READY,
        "status": state,
        "reason": str(reason),
        "message": message,
        "lastTransitionTime": _timestamp(now)
        if changed or old is None
        else old.get("lastTransitionTime", _timestamp(now)),
    }
    others = [c for c in previous or [] if c.get("type") != READY]
    return [*others, condition]


def synced_condition(
    previous: list[Condition] | None, *, ready: bool, message: str, now: dt.datetime
) -> list[Condition]:
    """Bitnami's ``Synced`` condition (see the module doc), first, the others kept."""
    state: Literal["True", "False"] = "True" if ready else "False"
    old = next((c for c in previous or [] if c.get("type") == SYNCED), None)
    if old is not None and old.get("status") == state:
        since = old.get("lastTransitionTime", _timestamp(now))
        updated = old.get("lastUpdateTime", since)
    else:
        since = updated = _timestamp(now)
    condition: Condition = {"type": SYNCED, "status": state}
    if not ready:
        condition["message"] = message
    condition["lastUpdateTime"] = updated
    condition["lastTransitionTime"] = since
    others = [c for c in previous or [] if c.get("type") != SYNCED]
    return [condition, *others]


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
            "conditions": ready_condition(
                previous,
                ready=verdict.ready,
                reason=verdict.reason,
                message=verdict.message,
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
        now = _timestamp(self.clock())
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
