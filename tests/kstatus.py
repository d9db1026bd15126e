"""kstatus's rules for a custom resource, written from its documentation, not from our code.

The rules are those of ``sigs.k8s.io/cli-utils`` ``pkg/kstatus`` (its README, "Statuses" and
"Conditions", and ``status.Compute``: the generic checks, then, for a kind with no built-in rule,
the ``Ready`` condition), which Flux's health checks (``wait: true``, ``healthChecks``) and kpt
use. In order:

1. ``metadata.deletionTimestamp`` set: **Terminating**.
2. ``status.observedGeneration`` present and not ``metadata.generation``: **InProgress** (the
   controller has not seen the latest spec). Absent: no decision ("we can't do this check").
3. The conditions, in their order: the first ``Reconciling`` with status True is
   **InProgress**, the first ``Stalled`` with status True is **Failed** ("abnormal-true"
   polarity: their absence means normal).
4. A ``Ready`` condition with status False: **InProgress** ("in the process of reconciling").
5. Anything else, ``Ready`` True or no known condition at all: **Current** (the README's corner
   case: an object the controller has not written yet reads as reconciled).

Rule 4 is the README's; a kstatus version that lacks it reads such an object Current. No state
the controller writes depends on it: every ``Ready=False`` it writes has ``Reconciling`` or
``Stalled`` True (tests/unit/controller/test_kstatus.py checks that), so rules 1-3 decide.

Argo CD's health has no Terminating: :data:`ARGO_CD` is the correspondence the health checks in
``deploy/argocd/argocd-cm-health.yaml`` are held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["ARGO_CD", "Status", "compute"]

Status = Literal["Current", "InProgress", "Failed", "Terminating"]

#: kstatus status -> the Argo CD health that says the same.
ARGO_CD: dict[str, str] = {
    "Current": "Healthy",
    "InProgress": "Progressing",
    "Failed": "Degraded",
    "Terminating": "Progressing",
}


def compute(obj: Mapping[str, Any]) -> Status:
    """The kstatus status of ``obj`` (a custom resource as the API server returns it)."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    status = obj.get("status") or {}
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and int(observed) != int(generation):
        return "InProgress"
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Reconciling":
            return "InProgress"
        if condition.get("type") == "Stalled":
            return "Failed"
    for condition in conditions:
        if condition.get("type") == "Ready" and condition.get("status") == "False":
            return "InProgress"
    return "Current"
