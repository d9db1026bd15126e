"""The Argo CD health checks (deploy/argocd/argocd-cm-health.yaml), run in a real Lua runtime.

Argo CD runs them with gopher-lua, ``obj`` a global holding the object; lupa's LuaRuntime runs
the same script text over the same table shape. Argo CD's own built-in check for bitnami.com
SealedSecrets (both shipped versions, in tests/data/argocd-bitnami/) runs over the status the
controller writes on a bitnami.com object it reconciles in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.bitnami import BitnamiSealedSecretReconciler
from sealer.api import BITNAMI_SEALED_SECRETS
from tests.unit.controller.conftest import Clock, Harness, small_key
from tests.unit.controller.test_bitnami import bitnami_body
from tests.unit.controller.test_sealedsecrets import install_keys
from tests.unit.fakekube import FakeKube

lupa = pytest.importorskip("lupa")

HEALTH = Path(__file__).parents[3] / "deploy" / "argocd" / "argocd-cm-health.yaml"
SCRIPTS = yaml.safe_load(HEALTH.read_text())["data"]


def check(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    return run(SCRIPTS[f"resource.customizations.health.sealops.dev_{kind}"], obj)


def run(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)

    def table(value: Any) -> Any:
        if isinstance(value, dict):
            return runtime.table_from({k: table(v) for k, v in value.items()})
        if isinstance(value, list):
            return runtime.table_from([table(v) for v in value])
        return value

    runtime.globals().obj = table(obj)
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


BITNAMI_CHECKS = sorted((HEALTH.parents[2] / "tests" / "data" / "argocd-bitnami").glob("*.lua"))


def bitnami_status(case: str) -> dict[str, Any]:
    """A bitnami.com SealedSecret after the controller reconciled it (``case``), as stored."""
    kube = FakeKube()
    harness = Harness(kube, Clock())
    install_keys(harness, small_key(1))
    reconciler = BitnamiSealedSecretReconciler(
        keyring=harness.keyring, keystore=harness.keystore, writer=harness.writer,
        reporter=harness.reporter, metrics=harness.metrics,
    )  # fmt: skip
    key = small_key(2) if case == "decrypt-failed" else small_key(1)
    reconciler.reconcile(bitnami_body(kube, key))
    body = kube.find(BITNAMI_SEALED_SECRETS, "prod", "db")
    assert body is not None
    if case == "edited-not-yet-seen":
        body["metadata"]["generation"] += 1
    return body


# case -> (health by the check that reads observedGeneration, by the one that does not)
BITNAMI_CASES = {
    "unsealed": ("Healthy", "Healthy"),
    "decrypt-failed": ("Degraded", "Degraded"),
    "edited-not-yet-seen": ("Progressing", "Healthy"),  # the older check ignores the generation
}


@pytest.mark.parametrize("case", sorted(BITNAMI_CASES), ids=sorted(BITNAMI_CASES))
@pytest.mark.parametrize("script", BITNAMI_CHECKS, ids=[p.stem for p in BITNAMI_CHECKS])
def test_argo_cd_bitnami_check_reads_our_status(script: Path, case: str) -> None:
    body = bitnami_status(case)
    status, message = run(script.read_text(), body)
    by_generation, without = BITNAMI_CASES[case]
    assert status == (by_generation if "generation" in script.stem else without), case
    if status == "Degraded":
        ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
        assert message == ready["message"], "Argo CD shows our failure message"
