"""The Argo CD contract: plugin.yaml's commands run as argocd-cmp-server runs them.

argocd-cmp-server copies the app's directory, then runs ``generate.command`` +
``generate.args`` there (here ``sh -c <script>``), with ``ARGOCD_APP_NAME``,
``ARGOCD_APP_NAMESPACE``, the Application's plugin env as ``ARGOCD_ENV_<NAME>`` and its
parameters as ``PARAM_<NAME>``; stdout must be the manifests. A failure must leave stdout empty.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.render.conftest import MARK, Bao

pytestmark = pytest.mark.integration

PLUGIN = Path(__file__).parents[3] / "deploy" / "argocd" / "plugin.yaml"
SPEC = yaml.safe_load(PLUGIN.read_text())["spec"]

APP = {
    "secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations: {avp.kubernetes.io/path: secret/data/db}
type: Opaque
stringData:
  url: postgres://<username>:<password>@<host>:<port>/<database>
data:
  token: <path:secrets/data/my-db#username | base64encode>
""",
    "deploy/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        env: [{name: DB_HOST, value: "<path:secret/data/db#host>"}]
""",
    "README.md": "not a manifest <path:secret/data/db#nope>\n",
}


def app_copy(tmp_path: Path, files: dict[str, str]) -> Path:
    """The repo checkout and the copy argocd-cmp-server makes of the app's directory."""
    repo = tmp_path / "repo" / "apps" / "shop"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    work = tmp_path / "cmp-work" / "apps" / "shop"
    shutil.copytree(repo, work)
    return work


def run(
    step: dict[str, list[str]], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    command = [*step["command"], *step.get("args", [])]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=120, check=False)


def cmp_env(bao: Bao, **extra: str) -> dict[str, str]:
    return bao.env(ARGOCD_APP_NAME="shop", ARGOCD_APP_NAMESPACE="shop", **extra)


def test_discover_finds_apps_with_placeholders(tmp_path: Path, bao: Bao) -> None:
    found = run(SPEC["discover"]["find"], app_copy(tmp_path, APP), cmp_env(bao))
    assert found.returncode == 0 and found.stdout.strip()
    plain = run(
        SPEC["discover"]["find"], app_copy(tmp_path / "p", {"a.yaml": "kind: X\n"}), cmp_env(bao)
    )
    assert plain.stdout.strip() == b""


def test_generate_gives_the_rendered_stream(tmp_path: Path, bao: Bao) -> None:
    out = run(
        SPEC["generate"], app_copy(tmp_path, APP), cmp_env(bao, ARGOCD_ENV_SEALOPS_KV_VERSION="2")
    )
    assert out.returncode == 0, out.stderr.decode()
    docs = list(yaml.safe_load_all(out.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Deployment", "web"),
        ("Secret", "db"),
    ]
    deployment, secret = docs
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "host"
    assert deployment["spec"]["replicas"] == 2
    assert secret["stringData"]["url"] == "postgres://user:pass@host:9443/my-db"
    assert base64.b64decode(secret["data"]["token"]).decode() == f"{MARK}-user-v2"
    assert out.stderr == b""


def test_generate_with_parameters_renders_references(tmp_path: Path, bao: Bao) -> None:
    env = cmp_env(bao, PARAM_MODE="reference", PARAM_CONNECTION="vault", VAULT_TOKEN="")
    files = {"secret.yaml": APP["secret.yaml"]}
    out = run(SPEC["generate"], app_copy(tmp_path, files), env)
    assert out.returncode == 0, out.stderr.decode()
    (doc,) = yaml.safe_load_all(out.stdout)
    assert doc["kind"] == "VaultSecret"
    assert doc["spec"]["connectionRef"] == {"kind": "VaultConnection", "name": "vault"}


def test_generate_refuses_a_vault_chosen_by_the_application(tmp_path: Path, bao: Bao) -> None:
    env = cmp_env(bao, VAULT_ADDR="", ARGOCD_ENV_VAULT_ADDR="http://127.0.0.1:9")
    out = run(SPEC["generate"], app_copy(tmp_path, APP), env)
    assert out.returncode != 0 and out.stdout == b""
    assert b"credentials are the plugin's own" in out.stderr


def test_missing_key_gives_no_manifest_and_one_line(tmp_path: Path, bao: Bao) -> None:
    files = dict(APP)
    files["deploy/deployment.yaml"] = files["deploy/deployment.yaml"].replace(
        "#host>", "#hostname>"
    )
    out = run(SPEC["generate"], app_copy(tmp_path, files), cmp_env(bao))
    assert out.returncode != 0
    assert out.stdout == b""
    lines = out.stderr.decode().strip().splitlines()
    assert lines == [
        "Error: deploy/deployment.yaml: Deployment shop/web: "
        "spec.template.spec.containers[0].env[0].value: Vault secret 'secret/db' has no field "
        "'hostname' (it has: database, host, password, port, username)"
    ]
