"""deploy/argocd as a kustomize Component over a stand-in Argo CD install (kubectl kustomize)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealer.render.settings import PARAMETERS

COMPONENT = Path(__file__).parents[3] / "deploy" / "argocd"
INSTALL = """apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-repo-server}
spec:
  template:
    spec:
      containers: [{name: argocd-repo-server, image: quay.io/argoproj/argocd}]
      volumes: [{name: var-files, emptyDir: {}}, {name: plugins, emptyDir: {}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm}
data: {url: https://argocd.example.com}
"""


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_component_adds_sidecar_plugin_and_health_checks(tmp_path: Path) -> None:
    (tmp_path / "install.yaml").write_text(INSTALL)
    relative = os.path.relpath(COMPONENT, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [install.yaml]\ncomponents: [{relative}]\n"
    )
    out = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, timeout=60, check=True
    )
    docs: dict[str, Any] = {d["metadata"]["name"]: d for d in yaml.safe_load_all(out.stdout)}
    containers = docs["argocd-repo-server"]["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sealops-cmp", "argocd-repo-server"]
    sidecar = containers[0]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    mounts = {m["mountPath"] for m in sidecar["volumeMounts"]}
    assert "/home/argocd/cmp-server/config/plugin.yaml" in mounts
    assert "/home/argocd/cmp-server/plugins" in mounts
    cm = docs["argocd-cm"]["data"]
    assert cm["url"] == "https://argocd.example.com"  # merged, not replaced
    assert {k for k in cm if k.startswith("resource.customizations.health.")} == {
        "resource.customizations.health.sealops.dev_SealedSecret",
        "resource.customizations.health.sealops.dev_VaultSecret",
        "resource.customizations.health.sealops.dev_VaultConnection",
        "resource.customizations.health.sealops.dev_ClusterVaultConnection",
    }
    plugin = yaml.safe_load(docs["sealops-cmp-plugin"]["data"]["plugin.yaml"])
    assert plugin["kind"] == "ConfigManagementPlugin"
    # Executed directly, no shell: nothing the Application chooses is split or interpreted.
    generate = plugin["spec"]["generate"]
    assert [*generate["command"], *generate["args"]] == ["seal", "render", "--", "."]
    # Every parameter announced is one seal render reads, with the collection type it reads.
    announced = {
        p["name"]: p.get("collectionType", "string") for p in plugin["spec"]["parameters"]["static"]
    }
    assert announced == PARAMETERS
