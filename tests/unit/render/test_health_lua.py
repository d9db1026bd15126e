"""The Argo CD health checks (deploy/argocd/argocd-cm-health.yaml), run in a real Lua runtime.

Argo CD runs them with gopher-lua, ``obj`` a global holding the object; lupa's LuaRuntime runs
the same script text over the same table shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

lupa = pytest.importorskip("lupa")

HEALTH = Path(__file__).parents[3] / "deploy" / "argocd" / "argocd-cm-health.yaml"
SCRIPTS = yaml.safe_load(HEALTH.read_text())["data"]


def check(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)

    def table(value: Any) -> Any:
        if isinstance(value, dict):
            return runtime.table_from({k: table(v) for k, v in value.items()})
        if isinstance(value, list):
            return runtime.table_from([table(v) for v in value])
        return value

    runtime.globals().obj = table(obj)
    script = SCRIPTS[f"resource.customizations.health.sealops.dev_{kind}"]
    result = runtime.execute(script)
    return str(result["status"]), str(result["message"])


def obj(generation: int, observed: int | None, *conditions: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"metadata": {"name": "x", "generation": generation}, "status": status}


def ready(status: str, reason: str) -> dict[str, str]:
    return {"type": "Ready", "status": status, "reason": reason, "message": f"m-{reason}"}


CASES = [
    ("SealedSecret", "unsealed-current", obj(2, 2, ready("True", "Unsealed")), "Healthy"),
    ("SealedSecret", "decrypt-failed", obj(1, 1, ready("False", "DecryptFailed")), "Degraded"),
    ("SealedSecret", "not-owned", obj(1, 1, ready("False", "SecretNotOwned")), "Degraded"),
    ("SealedSecret", "forbidden", obj(1, 1, ready("False", "Forbidden")), "Degraded"),
    (
        "SealedSecret",
        "api-outage-retrying",
        obj(1, 1, ready("False", "KubernetesUnavailable")),
        "Progressing",
    ),
    ("SealedSecret", "stale-generation", obj(3, 2, ready("True", "Unsealed")), "Progressing"),
    ("SealedSecret", "no-status", {"metadata": {"name": "x", "generation": 1}}, "Progressing"),
    ("VaultSecret", "synced", obj(1, 1, ready("True", "Synced")), "Healthy"),
    ("VaultSecret", "not-found", obj(1, 1, ready("False", "NotFound")), "Degraded"),
    ("VaultSecret", "forbidden", obj(4, 4, ready("False", "Forbidden")), "Degraded"),
    (
        "VaultSecret",
        "outage-retrying",
        obj(1, 1, ready("False", "VaultUnavailable")),
        "Progressing",
    ),
    ("VaultSecret", "old-ready", obj(2, 1, ready("True", "Synced")), "Progressing"),
    ("VaultSecret", "unknown", obj(1, 1, ready("Unknown", "Reconciling")), "Progressing"),
]


@pytest.mark.parametrize(("kind", "name", "sample", "want"), CASES, ids=[c[1] for c in CASES])
def test_health(kind: str, name: str, sample: dict[str, Any], want: str) -> None:
    status, message = check(kind, sample)
    assert status == want, name
    assert message
