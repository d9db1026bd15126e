"""The Argo CD health checks (deploy/argocd/argocd-cm-health.yaml), run in a real Lua runtime.

Argo CD runs them with gopher-lua, ``obj`` a global holding the object; lupa's LuaRuntime runs
the same script text over the same table shape. Each check must say what kstatus says
(tests/kstatus.py, Flux's view), over every state the reconcilers reach for all four kinds
(tests/unit/controller/states.py) and over hand-made statuses. Argo CD's own built-in check for bitnami.com
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
from tests import kstatus
from tests.unit.controller.conftest import Clock, Harness, small_key
from tests.unit.controller.states import KINDS, State, all_states
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


def cond(kind: str, status: str, reason: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": f"m-{reason}"}


def written(ready: str, reason: str, *, stalled: bool = False) -> list[dict[str, str]]:
    """The three conditions as the controller writes them."""
    failing = ready != "True"
    return [
        cond("Ready", ready, reason),
        cond("Reconciling", "True" if failing and not stalled else "False", reason),
        cond("Stalled", "True" if failing and stalled else "False", reason),
    ]


# Hand-made statuses, some the controller never writes (Ready Unknown, a Stalled listed before
# a Reconciling): each check still says what kstatus says.
DELETED = {"name": "x", "generation": 1, "deletionTimestamp": "2026-01-01T00:00:00Z"}
CASES = [
    ("unsealed-current", obj(2, 2, *written("True", "Unsealed"))),
    ("decrypt-failed", obj(1, 1, *written("False", "DecryptFailed", stalled=True))),
    ("api-outage", obj(1, 1, *written("False", "KubernetesUnavailable"))),
    ("stale-generation", obj(3, 2, *written("True", "Unsealed"))),
    ("stale-and-stalled", obj(3, 2, *written("False", "InvalidSpec", stalled=True))),
    ("defaulted-fresh", {"metadata": {"generation": 1}, "status": {"observedGeneration": 0}}),
    ("ready-only-false", obj(1, 1, cond("Ready", "False", "VaultUnavailable"))),
    ("ready-only-true", obj(1, 1, cond("Ready", "True", "Synced"))),
    ("ready-unknown", obj(1, 1, cond("Ready", "Unknown", "Checking"))),
    ("stalled-first", obj(1, 1, cond("Stalled", "True", "x"), cond("Reconciling", "True", "y"))),
    (
        "reconciling-first",
        obj(1, 1, cond("Reconciling", "True", "y"), cond("Stalled", "True", "x")),
    ),
    ("no-generation", {"metadata": {}, "status": {"conditions": written("True", "LoggedIn")}}),
    ("deleting", {"metadata": DELETED, "status": {"observedGeneration": 1}}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "sample"), CASES, ids=[c[0] for c in CASES])
def test_health_says_what_kstatus_says(kind: str, name: str, sample: dict[str, Any]) -> None:
    status, message = check(kind, sample)
    assert status == kstatus.ARGO_CD[kstatus.compute(sample)], name
    assert message


@pytest.mark.parametrize("kind", KINDS)
def test_an_object_without_status_is_progressing(kind: str) -> None:
    # kstatus takes it for Current (its README's corner case); the CRDs default
    # observedGeneration to 0, so the API server never returns one of ours like this.
    status, _ = check(kind, {"metadata": {"name": "x", "generation": 1}})
    assert status == "Progressing"


STATES = [s for s in all_states() if s.kind in KINDS]


@pytest.mark.parametrize("state", STATES, ids=[s.id for s in STATES])
def test_every_reachable_state_gets_the_same_verdict_from_both(state: State) -> None:
    status, message = check(state.kind, state.body)
    assert status == kstatus.ARGO_CD[kstatus.compute(state.body)]
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
