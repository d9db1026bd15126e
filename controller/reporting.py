"""Status conditions and Events: how the controller tells users what happened.

Messages come from :class:`sealer.errors.SealopsError` strings, which name objects and fields and
never values. ``lastTransitionTime`` changes only when the condition's status flips, as the
Kubernetes API conventions ask, so a steady state writes nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sealer.api import EVENTS
from sealer.kube import Kube, KubeError, ResourceRef

__all__ = ["Reporter", "StatusSink", "Verdict", "ready_condition"]

# Takes a status to write instead of the Reporter: kopf's handler hands it to kopf, which sends it
# in the same PATCH as its own diff base.
StatusSink = Callable[[dict[str, Any]], None]

log = logging.getLogger(__name__)
_COMPONENT = "sealops-controller"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one reconcile, as the user will see it."""

    ready: bool
    reason: str
    message: str
    extra_status: Mapping[str, Any] | None = None
    event: bool = True  # post an Event for it
    event_message: str | None = None  # defaults to ``message``
    retry_after: float | None = None  # seconds; None = do not retry until something changes


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_condition(
    previous: list[dict[str, Any]] | None,
    *,
    ready: bool,
    reason: str,
    message: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    status = "True" if ready else "False"
    old = next((c for c in previous or [] if c.get("type") == "Ready"), None)
    changed = old is None or old.get("status") != status
    condition = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": _timestamp(now)
        if changed or old is None
        else old.get("lastTransitionTime"),
    }
    others = [c for c in previous or [] if c.get("type") != "Ready"]
    return [*others, condition]


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
    ) -> None:
        """Patch the object's status (or give it to ``status_sink``) and post an Event.

        Only a status that differs from the body's is written or given. Failures are logged,
        not raised.
        """
        meta = body.get("metadata") or {}
        previous = (body.get("status") or {}).get("conditions")
        status: dict[str, Any] = {
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
        old = body.get("status") or {}
        if any(old.get(k) != v for k, v in status.items() if k != "conditions") or _differs(
            previous, status["conditions"]
        ):
            if status_sink is not None:
                status_sink(status)
            else:
                self._patch_status(ref, meta, status)
        if verdict.event:
            self.event(
                body,
                kind="Normal" if verdict.ready else "Warning",
                reason=verdict.reason,
                message=verdict.message,
            )

    def _patch_status(
        self, ref: ResourceRef, meta: Mapping[str, Any], status: dict[str, Any]
    ) -> None:
        try:
            self.kube.patch(
                ref,
                meta.get("namespace"),
                str(meta.get("name")),
                {"status": status},
                subresource="status",
            )
        except KubeError as exc:
            log.warning(
                "cannot update status of %s/%s: %s", meta.get("namespace"), meta.get("name"), exc
            )

    def event(self, body: Mapping[str, Any], *, kind: str, reason: str, message: str) -> None:
        meta = body.get("metadata") or {}
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
            "reason": reason,
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


def _differs(old: list[dict[str, Any]] | None, new: list[dict[str, Any]]) -> bool:
    return (old or []) != new
