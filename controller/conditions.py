"""The status conditions, as kstatus (Flux, kpt, wait gates) and Argo CD read them.

Every object gets three conditions, each with the generation it describes (``observedGeneration``):

- ``Ready``: True when the Secret is what the spec says (a connection: it logs in), with the
  reason (:class:`sealer.reasons.Reason`);
- ``Reconciling`` (kstatus's, "abnormal-true"): True while a failure that may pass without anyone
  acting is being retried (``VaultUnavailable``, ``KubernetesUnavailable``, a write conflict);
- ``Stalled`` (kstatus's): True when only a change can end the failure: its reason needs someone
  (:attr:`sealer.reasons.Reason.degraded`: ``InvalidSpec``, ``DecryptFailed``, ``Forbidden``...).

Both are False otherwise, so kstatus reads: ``Current`` when Ready=True for the current
generation, ``InProgress`` while Reconciling or not yet observed, ``Failed`` when Stalled. The
CRDs default ``status.observedGeneration`` to 0, so an object the controller has not yet seen
reads as ``InProgress`` too (kstatus takes an object without conditions for ``Current``).

``lastTransitionTime`` changes only when a condition's status flips, as the Kubernetes API
conventions ask, so a steady state writes nothing new.

A bitnami.com SealedSecret also gets Bitnami's ``Synced`` condition, first in the list (Bitnami's
CRD prints ``conditions[0]``), as Bitnami's controller writes it: ``status`` True or False, the
failure's ``message`` (none when True), no ``reason``, ``lastUpdateTime`` and
``lastTransitionTime`` set when the status flips. Argo CD's built-in health check for
bitnami.com SealedSecrets reads it. Bitnami's CRD has no per-condition ``observedGeneration``
(it would be pruned, and every reconcile would write again), so those objects go without it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sealer.api import READY, RECONCILING, STALLED, SYNCED, Condition, Reason

__all__ = ["kstatus_conditions", "synced_condition", "timestamp"]

State = Literal["True", "False"]


def timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kstatus_conditions(
    previous: list[Condition] | None,
    *,
    ready: bool,
    stalled: bool,
    reason: Reason,
    message: str,
    generation: int | None,
    now: dt.datetime,
) -> list[Condition]:
    """``Ready``, ``Reconciling`` and ``Stalled`` (see the module doc); other types kept first.

    ``generation`` None: no per-condition ``observedGeneration`` (a bitnami.com object).
    """
    states: list[tuple[str, State]] = [
        (READY, "True" if ready else "False"),
        (RECONCILING, "True" if not ready and not stalled else "False"),
        (STALLED, "True" if not ready and stalled else "False"),
    ]
    ours = {kind for kind, _ in states}
    out = [c for c in previous or [] if c.get("type") not in ours]
    for kind, state in states:
        out.append(_condition(previous, kind, state, reason, message, generation, now))
    return out


def _condition(
    previous: list[Condition] | None,
    kind: str,
    state: State,
    reason: Reason,
    message: str,
    generation: int | None,
    now: dt.datetime,
) -> Condition:
    old = next((c for c in previous or [] if c.get("type") == kind), None)
    since = timestamp(now)
    if old is not None and old.get("status") == state:
        since = old.get("lastTransitionTime", since)
    condition: Condition = {"type": kind, "status": state, "reason": str(reason)}
    condition["message"] = message
    condition["lastTransitionTime"] = since
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def synced_condition(
    previous: list[Condition] | None, *, ready: bool, message: str, now: dt.datetime
) -> list[Condition]:
    """Bitnami's ``Synced`` condition (see the module doc), first, the others kept."""
    state: State = "True" if ready else "False"
    old = next((c for c in previous or [] if c.get("type") == SYNCED), None)
    if old is not None and old.get("status") == state:
        since = old.get("lastTransitionTime", timestamp(now))
        updated = old.get("lastUpdateTime", since)
    else:
        since = updated = timestamp(now)
    condition: Condition = {"type": SYNCED, "status": state}
    if not ready:
        condition["message"] = message
    condition["lastUpdateTime"] = updated
    condition["lastTransitionTime"] = since
    others = [c for c in previous or [] if c.get("type") != SYNCED]
    return [condition, *others]
