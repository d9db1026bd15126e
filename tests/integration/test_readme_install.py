"""The README's install steps, run as written with the real kubectl against the API emulator.

The ```` ```sh ```` block of the README's "The controller" section that runs ``kubectl apply`` is
taken from README.md (not copied here) and run with ``bash -euo pipefail`` from the repository
root; then every object that ``kubectl kustomize deploy/base`` renders must be in the cluster.
Beside it, the line the README used to give (``kubectl apply -f deploy/crds``) is shown to fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.kubeapi.harness import RunningKubeApi

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

ROOT = Path(__file__).parents[2]
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def install_steps() -> str:
    """The README's install block: the one ```sh block of "## The controller" that applies."""
    section = (ROOT / "README.md").read_text().split("\n## The controller\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    (block,) = [b for b in SH_BLOCK.findall(section) if "kubectl apply" in b]
    return str(block)


def _shell(
    script: str, kubeapi: RunningKubeApi, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),  # kubectl's cache, and no kubeconfig but the emulator's
        "KUBECONFIG": str(kubeapi.write_kubeconfig(tmp_path / "kubeconfig")),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _type(doc: dict[str, Any]) -> str:
    """kubectl's TYPE.GROUP for an object, e.g. deployment.apps (core kinds have no group)."""
    group = doc["apiVersion"].rpartition("/")[0]
    return f"{doc['kind'].lower()}.{group}" if group else doc["kind"].lower()


def _get(names: list[str], namespace: str | None, tmp_path: Path) -> list[dict[str, Any]]:
    args = ["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "get", *names, "-o", "json"]
    args += ["--cache-dir", str(tmp_path / "cache"), *(["-n", namespace] if namespace else [])]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return list(answer["items"]) if answer["kind"] == "List" else [answer]


def test_the_readmes_install_steps_apply_the_whole_base(
    kubeapi: RunningKubeApi, tmp_path: Path
) -> None:
    steps = install_steps()
    assert "kubectl apply -k deploy/base" in steps, steps
    done = _shell(steps, kubeapi, tmp_path)
    assert done.returncode == 0, f"{steps}\n{done.stderr}"
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "base")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    expected = [d for d in yaml.safe_load_all(rendered) if d]
    assert len(expected) > 10
    by_namespace: dict[str | None, list[str]] = {}
    for doc in expected:
        namespace = doc["metadata"].get("namespace")
        by_namespace.setdefault(namespace, []).append(f"{_type(doc)}/{doc['metadata']['name']}")
    found = {
        (item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"])
        for namespace, names in by_namespace.items()
        for item in _get(names, namespace, tmp_path)
    }
    wanted = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in expected}
    assert wanted == found
    (deployment,) = _get(["deployment.apps/sealops-controller"], "sealops-system", tmp_path)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "sealops-controller"
    ]


def test_apply_f_on_the_crds_folder_fails_as_the_old_readme_line_did(
    kubeapi: RunningKubeApi, tmp_path: Path
) -> None:
    done = _shell("kubectl apply -f deploy/crds", kubeapi, tmp_path)
    assert done.returncode != 0
    assert "kustomization.yaml" in done.stderr, done.stderr
