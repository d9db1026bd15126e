"""A real kustomize run (``kubectl kustomize --enable-alpha-plugins``) with the renderer as a
legacy exec plugin, as a generator and as a transformer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.render.conftest import MARK, Bao

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

PLUGIN_HOME = Path(__file__).parents[3] / "deploy" / "kustomize" / "plugin"
SECRET = """apiVersion: v1
kind: Secret
metadata: {name: db, annotations: {avp.kubernetes.io/path: secret/data/db}}
stringData: {user: <username>, pw: <path:secret/data/testsecret#password#1>}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, env: [{name: TOKEN, value: "<vault:kv1/app#token>"}]}]
"""


def kustomize(root: Path, bao: Bao) -> subprocess.CompletedProcess[bytes]:
    env = bao.env(KUSTOMIZE_PLUGIN_HOME=str(PLUGIN_HOME))
    return subprocess.run(
        ["kubectl", "kustomize", "--enable-alpha-plugins", str(root)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def renderer(**fields: object) -> str:
    body = {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "SecretRenderer",
        "metadata": {"name": "render"},
        **fields,
    }
    return yaml.safe_dump(body)


def test_generator(tmp_path: Path, bao: Bao) -> None:
    root = write(
        tmp_path / "gen",
        {
            "kustomization.yaml": "namespace: shop\ngenerators: [renderer.yaml]\n",
            "renderer.yaml": renderer(files=["secret.yaml"]),
            "secret.yaml": SECRET,
        },
    )
    out = kustomize(root, bao)
    assert out.returncode == 0, out.stderr.decode()
    (secret,) = yaml.safe_load_all(out.stdout)
    assert secret["metadata"]["namespace"] == "shop"  # kustomize went on with our output
    assert secret["stringData"] == {"user": "user", "pw": f"{MARK}-v1"}


def test_transformer(tmp_path: Path, bao: Bao) -> None:
    root = write(
        tmp_path / "tr",
        {
            "kustomization.yaml": "resources: [secret.yaml, deployment.yaml]\ntransformers: [renderer.yaml]\n",
            "renderer.yaml": renderer(),
            "secret.yaml": SECRET,
            "deployment.yaml": DEPLOYMENT,
        },
    )
    out = kustomize(root, bao)
    assert out.returncode == 0, out.stderr.decode()
    docs = {d["kind"]: d for d in yaml.safe_load_all(out.stdout)}
    env = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert env["value"] == f"{MARK}-v1-token"
    assert docs["Secret"]["stringData"]["user"] == "user"


def test_transformer_in_reference_mode(tmp_path: Path, bao: Bao) -> None:
    root = write(
        tmp_path / "ref",
        {
            "kustomization.yaml": "resources: [secret.yaml]\ntransformers: [renderer.yaml]\n",
            "renderer.yaml": renderer(
                mode="reference", connection="vault", connectionKind="ClusterVaultConnection"
            ),
            "secret.yaml": SECRET,
        },
    )
    out = kustomize(root, bao)
    assert out.returncode == 0, out.stderr.decode()
    (doc,) = yaml.safe_load_all(out.stdout)
    assert doc["kind"] == "VaultSecret"
    assert {e["key"]: e["ref"] for e in doc["spec"]["data"]} == {
        "user": "secret/db#username",
        "pw": "secret/testsecret#password#1",
    }
    assert MARK not in out.stdout.decode()


def test_failure_stops_the_build(tmp_path: Path, bao: Bao) -> None:
    root = write(
        tmp_path / "bad",
        {
            "kustomization.yaml": "generators: [renderer.yaml]\n",
            "renderer.yaml": renderer(files=["secret.yaml"]),
            "secret.yaml": SECRET.replace("<username>", "<nope>"),
        },
    )
    out = kustomize(root, bao)
    assert out.returncode != 0 and out.stdout == b""
    assert (
        b"secret.yaml: Secret db: stringData.user: Vault secret 'secret/db' has no field 'nope'"
        in out.stderr
    )


OUTSIDE_LINK = "outside-link.yaml"


@pytest.mark.parametrize(
    "files,named,reason",
    [
        (["../outside/secret.yaml"], "../outside/secret.yaml", "a path climbing out"),
        (["/proc/self/environ"], "/proc/self/environ", "the process's environment"),
        ([OUTSIDE_LINK], OUTSIDE_LINK, "a link in the kustomization to a file outside it"),
    ],
    ids=["parent", "proc-environ", "link-out"],
)
def test_generator_files_stay_in_the_kustomization(
    tmp_path: Path, bao: Bao, files: list[str], named: str, reason: str
) -> None:
    """kustomize's load restrictor keeps a kustomization's files below it; the generator's
    `files:` obey the same rule, so nothing outside reaches the build's output."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(SECRET.replace("name: db", f"name: {MARK}-stolen"))
    root = write(
        tmp_path / "gen",
        {
            "kustomization.yaml": "generators: [renderer.yaml]\n",
            "renderer.yaml": renderer(files=files),
        },
    )
    (root / OUTSIDE_LINK).symlink_to("../outside/secret.yaml")
    out = kustomize(root, bao)
    assert out.returncode != 0 and out.stdout == b"", reason
    assert f"files: {named} is outside the kustomization's directory".encode() in out.stderr
    assert MARK.encode() not in out.stderr
