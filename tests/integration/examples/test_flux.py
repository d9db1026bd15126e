"""Example 09 (Flux): the README's steps against the emulator, the controller and OpenBao, and
the Flux manifests checked for what Flux reads from them.

Flux is not on these machines. What it would do is known from its API
(``kustomize.toolkit.fluxcd.io/v1`` Kustomization): apply ``spec.path`` built with kustomize,
then, with ``spec.wait``, hold the Kustomization not Ready until kstatus reads every applied
object Current (failing it once one reads Failed); a Kustomization whose ``spec.dependsOn``
names another is not applied until that one is Ready. So the test checks the fields, builds
``spec.path`` with ``kubectl kustomize``, and reads the live objects with kstatus's rules
(tests/kstatus.py): the gate holds before the controller has made the Secret, opens once the
Secret is right, and fails on a path Vault does not have.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.openbao import OpenBao
from sealer.api import DEPLOYMENTS, SECRETS, VAULT_CONNECTIONS, VAULT_SECRETS
from sealer.kube import ResourceRef
from tests import kstatus
from tests.integration.controller.conftest import Cluster, StartController, wait_for
from tests.integration.examples.conftest import ROOT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

EXAMPLE = ROOT / "examples" / "09-flux"
FLUX = "kustomize.toolkit.fluxcd.io/v1"
REFS = {"VaultConnection": VAULT_CONNECTIONS, "VaultSecret": VAULT_SECRETS}


def kustomizations() -> dict[str, dict[str, Any]]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted((EXAMPLE / "flux").glob("*.yaml"))]
    return {d["metadata"]["name"]: d for d in docs}


def built(path: Path) -> list[dict[str, Any]]:
    """``spec.path`` as Flux's kustomize-controller builds it."""
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if d]


def test_the_flux_kustomizations_wait_for_the_secrets_and_order_the_app() -> None:
    found = kustomizations()
    assert set(found) == {"shop-secrets", "shop-app"}
    for doc in found.values():
        assert (doc["apiVersion"], doc["kind"]) == (FLUX, "Kustomization")
        spec = doc["spec"]
        assert spec["sourceRef"]["kind"] == "GitRepository" and spec["interval"]
        assert spec["timeout"], "how long Flux waits before it fails the Kustomization"
        assert spec["path"].startswith("./examples/09-flux/")
        assert (ROOT / spec["path"] / "kustomization.yaml").exists(), spec["path"]
    secrets, app = found["shop-secrets"]["spec"], found["shop-app"]["spec"]
    assert secrets["wait"] is True, "Flux checks every applied object with kstatus"
    assert "healthChecks" not in secrets, "ignored when wait is true"
    kinds = {d["kind"] for d in built(ROOT / secrets["path"])}
    assert kinds == {"VaultConnection", "VaultSecret"}, "what the gate waits for"
    namespace = found["shop-secrets"]["metadata"]["namespace"]
    assert app["dependsOn"] == [{"name": "shop-secrets"}]
    assert found["shop-app"]["metadata"]["namespace"] == namespace, "dependsOn is same-namespace"
    assert not app.get("wait"), "healthChecks is read only without wait"
    applied = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace"))
               for d in built(ROOT / app["path"])}  # fmt: skip
    for check in app["healthChecks"]:
        assert (check["kind"], check["name"], check["namespace"]) in applied, check
        assert check["apiVersion"] == "apps/v1"
    # The app reads the Secret the VaultSecret makes.
    (vault_secret,) = [d for d in built(ROOT / secrets["path"]) if d["kind"] == "VaultSecret"]
    (deployment,) = built(ROOT / app["path"])
    env_from = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"secretRef": {"name": vault_secret["spec"]["target"]["name"]}} in env_from


def gate(cluster: Cluster, ex: Any) -> set[str]:
    """kstatus of every object shop-secrets applied, as Flux's wait reads them now."""
    statuses: set[str] = set()
    for doc in built(ex.path("secrets")):
        ref: ResourceRef = REFS[doc["kind"]]
        body = cluster.kube.get(ref, doc["metadata"]["namespace"], doc["metadata"]["name"])
        statuses.add(kstatus.compute(body))
    return statuses


def test_09_flux(
    example: Any,
    cluster: Cluster,
    start_controller: StartController,
    plaintexts: list[bytes],
    bao: OpenBao,
) -> None:
    plaintexts.append(b"example-db-password")
    ex = example("09-flux", KUBECONFIG=str(cluster.kubeconfig), VAULT_ADDR=bao.address,
                 VAULT_TOKEN=bao.root_token)  # fmt: skip
    connection = ex.path("secrets/vaultconnection.yaml")
    connection.write_text(
        connection.read_text().replace("http://openbao.openbao.svc:8200", bao.address)
    )
    ex.run(0, 3)  # Vault, the token Secret, the secrets applied
    assert gate(cluster, ex) == {"InProgress"}, "no controller yet: the gate holds"
    start_controller()
    ex.run(3)  # kubectl wait (the gate), then the app
    assert gate(cluster, ex) == {"Current"}
    secret = cluster.kube.get(SECRETS, "shop", "db")
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]) == b"example-db-password"
    assert cluster.kube.get(DEPLOYMENTS, "shop", "checkout")["spec"]["replicas"] == 1

    # A path Vault does not have: Stalled, so Flux fails shop-secrets and holds shop-app.
    cluster.kube.patch(VAULT_SECRETS, "shop", "db", {"spec": {"data": [
        {"key": "DB_PASSWORD", "ref": "secret/shop/nope#password"}]}})  # fmt: skip
    wait_for(lambda: gate(cluster, ex) == {"Current", "Failed"}, what="the gate failed")
    body = cluster.kube.get(VAULT_SECRETS, "shop", "db")
    ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NotFound"
    assert base64.b64decode(cluster.kube.get(SECRETS, "shop", "db")["data"]["DB_PASSWORD"]) == (
        b"example-db-password"
    ), "the Secret is kept as it was"
