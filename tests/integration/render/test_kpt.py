"""kpt's real KRM runner: ``kpt fn eval --exec "seal render --krm"`` in place, both modes.

A package with placeholders (whole values, placeholders inside text, labels and annotations) is
rendered in place by kpt with the values in OpenBao; then ``kubectl apply --dry-run=client -f``
of the package, against the project's API emulator (with the CRDs, so kubectl knows
VaultSecret), must succeed, and every file must still be valid YAML with no anchor or alias
(reference mode once wrote ``&id001`` that kpt left dangling). A failing render leaves every file
as it was. kpt runs the same function protocol as kustomize's exec KRM functions.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.kubeapi.harness import RunningKubeApi
from tests.harness import Cluster
from tests.integration.render.conftest import MARK, Bao

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kpt") is None, reason="kpt is not installed"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

PACKAGE = {
    "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata: {name: shop}\n",
    "secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  labels: {app: shop}
  annotations: {avp.kubernetes.io/path: secrets/data/my-db, team: payments}
type: Opaque
stringData:
  username: <username>
  dsn: "postgres://<username>@db/<path:secret/data/testsecret#password>"
  flag: "<path:secret/data/yaml-words#yes>"
""",
    "config.yaml": """apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app: shop}}
data: {mode: "y", retries: "012"}
""",
}
INLINE_ONLY = {
    "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        env:
        - {name: TOKEN, value: "<vault:kv1/app#token>"}
        - {name: SHORT, value: "<path:secret/data/yaml-words#n>"}
""",
}


@pytest.fixture
def cluster(kubeapi: RunningKubeApi, tmp_path: Path) -> Cluster:
    return Cluster.start(kubeapi, tmp_path / "kubeconfig", namespaces=("shop",))


def package(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def kpt_render(pkg: Path, bao: Bao, *config: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["kpt", "fn", "eval", str(pkg), "--exec", "seal render --krm", "--", *config],
        env=bao.env(),
        capture_output=True,
        timeout=120,
        check=False,
    )


def dry_run(pkg: Path, cluster: Cluster) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["kubectl", "apply", "--dry-run=client", "-o", "json", "-f", str(pkg)],
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": str(cluster.kubeconfig), "HOME": str(pkg)},
        capture_output=True,
        timeout=120,
        check=False,
    )


def files_of(pkg: Path) -> dict[str, list[Any]]:
    """Every YAML file of the package, parsed; none may hold an anchor or alias."""
    out = {}
    for path in sorted(pkg.glob("*.yaml")):
        text = path.read_text()
        anchors = [e for e in yaml.parse(text) if getattr(e, "anchor", None) is not None]
        assert not anchors, f"{path.name}: YAML anchors or aliases"
        out[path.name] = [d for d in yaml.safe_load_all(text) if d is not None]
    return out


def by_kind(files: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for docs in files.values() for doc in docs}


def applied_objects(out: subprocess.CompletedProcess[bytes]) -> dict[str, dict[str, Any]]:
    """What kubectl would send (it reads YAML as Go's YAML 1.1 does: unquoted y/n are bools)."""
    assert out.returncode == 0, out.stderr.decode()
    body = json.loads(out.stdout)
    return {o["kind"]: o for o in (body["items"] if body.get("kind") == "List" else [body])}


@pytest.fixture(scope="module")
def words(bao: Bao) -> None:
    """Vault values that Go's YAML reads as booleans when written unquoted."""
    bao.admin.kv_put("secret/yaml-words", {"yes": "yes", "n": "n"})


@pytest.mark.usefixtures("words")
def test_inline(tmp_path: Path, bao: Bao, cluster: Cluster) -> None:
    pkg = package(tmp_path / "pkg", {**PACKAGE, **INLINE_ONLY})
    out = kpt_render(pkg, bao)
    assert out.returncode == 0, out.stderr.decode()
    docs = by_kind(files_of(pkg))
    assert docs["Secret"]["stringData"] == {
        "username": f"{MARK}-user-v2",
        "dsn": f"postgres://{MARK}-user-v2@db/{MARK}-v2",
        "flag": "yes",
    }
    env = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TOKEN", "value": f"{MARK}-v1-token"}, {"name": "SHORT", "value": "n"}]
    assert docs["ConfigMap"]["data"] == {"mode": "y", "retries": "012"}
    sent = applied_objects(dry_run(pkg, cluster))
    assert sent["Secret"]["stringData"]["flag"] == "yes"
    assert sent["ConfigMap"]["data"] == {"mode": "y", "retries": "012"}
    sent_env = sent["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert sent_env == env


@pytest.mark.usefixtures("words")
def test_reference(tmp_path: Path, bao: Bao, cluster: Cluster) -> None:
    pkg = package(tmp_path / "pkg", PACKAGE)
    out = kpt_render(pkg, bao, "mode=reference", "connection=vault")
    assert out.returncode == 0, out.stderr.decode()
    files = files_of(pkg)
    text = "".join(p.read_text() for p in pkg.iterdir())
    assert MARK not in text and base64.b64encode(MARK.encode()).decode()[:4] not in text
    docs = by_kind(files)
    vault_secret = docs["VaultSecret"]
    assert vault_secret["metadata"]["annotations"] == {"team": "payments"}  # kpt's are stripped
    target = vault_secret["spec"]["target"]
    assert target["template"]["metadata"] == {
        "labels": {"app": "shop"},
        "annotations": {"team": "payments"},
    }
    helpers = [e for e in vault_secret["spec"]["data"] if e.get("templateOnly")]
    assert helpers and all(e["key"] not in target["template"]["data"] for e in helpers)
    sent = applied_objects(dry_run(pkg, cluster))
    assert sent["VaultSecret"]["spec"] == vault_secret["spec"]
    assert sent["ConfigMap"]["data"] == {"mode": "y", "retries": "012"}


def test_a_failing_render_leaves_the_package_as_it_was(tmp_path: Path, bao: Bao) -> None:
    broken = {**PACKAGE, **INLINE_ONLY}
    broken["zz-late.yaml"] = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: late, namespace: shop}\n"
        "stringData: {pw: '<path:secret/data/testsecret#nosuchfield>'}\n"
    )
    pkg = package(tmp_path / "pkg", broken)
    before = {p.name: p.read_bytes() for p in pkg.iterdir()}
    out = kpt_render(pkg, bao)
    assert out.returncode != 0
    assert b"stringData.pw" in out.stderr and MARK.encode() not in out.stdout + out.stderr
    assert {p.name: p.read_bytes() for p in pkg.iterdir()} == before
