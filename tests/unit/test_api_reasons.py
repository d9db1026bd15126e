"""The Ready reasons are sealer.api.Reason's, everywhere a user or a tool reads them.

The Argo CD health checks (which reasons are Degraded, through the Stalled condition the
controller writes for them), the CRDs' documentation of
``status.conditions[].reason`` (in both copies), the reasons table in docs/operations.md (kinds,
retry class, health) and the README's list must name exactly the enum's reasons, so a new reason
cannot ship undocumented or shown as the wrong health.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.reporting import Reporter, Verdict
from sealer.api import (
    CLUSTER_VAULT_CONNECTION,
    SEALED_SECRET,
    SEALED_SECRETS,
    VAULT_CONNECTION,
    VAULT_SECRET,
    Reason,
    Retry,
)
from tests.unit.controller.conftest import Clock
from tests.unit.fakekube import FakeKube

ROOT = Path(__file__).resolve().parents[2]
KINDS = (SEALED_SECRET, VAULT_SECRET, VAULT_CONNECTION, CLUSTER_VAULT_CONNECTION)
CRD_FILES: dict[str, str] = {
    SEALED_SECRET: "sealedsecrets.sealops.dev.yaml",
    VAULT_SECRET: "vaultsecrets.sealops.dev.yaml",
    VAULT_CONNECTION: "vaultconnections.sealops.dev.yaml",
    CLUSTER_VAULT_CONNECTION: "clustervaultconnections.sealops.dev.yaml",
}
RETRIED = {
    Retry.NEVER: "never",
    Retry.BACKOFF: "with backoff",
    Retry.REFRESH: "at the next refresh",
}


def _health(kind: str, reason: Reason) -> str:
    """The Argo CD health of an object whose reconcile ended with ``reason``, as reported."""
    from tests.unit.render.test_health_lua import check

    kube = FakeKube()
    body = kube.put(SEALED_SECRETS, {"metadata": {"name": "x", "namespace": "prod"}})
    Reporter(kube=kube, clock=Clock()).report(
        SEALED_SECRETS, body, Verdict(reason.ready, reason, f"m-{reason}")
    )
    stored = kube.find(SEALED_SECRETS, "prod", "x")
    assert stored is not None
    return check(kind, stored)[0]


@pytest.mark.parametrize("kind", KINDS)
def test_the_health_checks_degrade_exactly_the_reasons_that_need_someone(kind: str) -> None:
    pytest.importorskip("lupa")
    for reason in Reason.for_kind(kind):
        want = "Healthy" if reason.ready else "Degraded" if reason.degraded else "Progressing"
        assert _health(kind, reason) == want, reason


def _reason_description(crd: dict[str, Any]) -> str:
    (version,) = crd["spec"]["versions"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    condition = status["properties"]["conditions"]["items"]["properties"]
    return str(condition["reason"]["description"])


@pytest.mark.parametrize("folder", ["deploy/crds", "deploy/helm/sealops/crds"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_crds_document_exactly_the_kinds_reasons(folder: str, kind: str) -> None:
    crd = yaml.safe_load((ROOT / folder / CRD_FILES[kind]).read_text())
    named = re.findall(r"[A-Z]\w+", _reason_description(crd))
    assert named == [str(r) for r in Reason.for_kind(kind)], "same reasons, in the enum's order"


def _operations_table() -> dict[str, list[str]]:
    text = (ROOT / "docs/operations.md").read_text()
    head = "| reason | on | meaning | retried | Argo CD | what to do |"
    assert head in text, "docs/operations.md has no reasons table"
    rows: dict[str, list[str]] = {}
    for line in text[text.index(head) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


def test_the_operations_table_lists_every_reason_once() -> None:
    assert list(_operations_table()) == [str(r) for r in Reason]


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_the_operations_table_says_what_the_enum_says(reason: Reason) -> None:
    _, kinds, _, retried, health, _ = _operations_table()[str(reason)]
    assert [k.strip() for k in kinds.split(",")] == [k for k in KINDS if k in reason.kinds]
    assert retried.split(" (")[0] == RETRIED[reason.retry], "the reason's own class first"
    want = "Healthy" if reason.ready else "Degraded" if reason.degraded else "Progressing"
    assert health == want


def test_the_readme_names_every_reason() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("reports every outcome in `status.conditions[Ready]`")
    sentence = text[start : text.index("and an Event", start)]
    assert re.findall(r"`([A-Z][A-Za-z]+)`", sentence) == [str(r) for r in Reason]
