"""Examples 03, 06 and 08 in a cluster: kubectl and ``seal`` from the READMEs against the API
emulator, with the real controller process (and, for 03, OpenBao)."""

from __future__ import annotations

import base64
import json
import shutil
from typing import Any

import pytest

from sealer.kube import SECRETS
from tests.integration.controller.conftest import Cluster, StartController

TEST_KEY_4096 = "SHA256:g9ueS+pZcwDw5Bx6ncinBFalenbpEzVH1UiYOBPAXnY"  # tests/data/fingerprints.txt

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]


def secret_data(cluster: Cluster, namespace: str, name: str) -> dict[str, bytes] | None:
    secret = cluster.secret(namespace, name)
    if secret is None:
        return None
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def test_06_migrate_from_bitnami(
    example: Any, cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"hello world")
    ex = example("06-migrate-from-bitnami", KUBECONFIG=str(cluster.kubeconfig))
    out = ex.run(0, 4)  # offline: backup stand-in, migrate, check, relabel
    assert "the backup opens every migrated SealedSecret" in out
    migrated = ex.docs("sealedsecrets.yaml")
    original = ex.docs("bitnami-sealedsecrets.yaml")
    assert [d["apiVersion"] for d in migrated] == ["sealops.dev/v1alpha1"] * 2
    assert [d["spec"] for d in migrated] == [d["spec"] for d in original]  # ciphertexts as-is
    scopes = [d["metadata"]["annotations"]["sealops.dev/scope"] for d in migrated]
    assert scopes == ["strict", "namespace-wide"]

    ex.run(4, 5)  # kubectl apply the relabelled keys
    controller = start_controller()
    ex.run(5)  # kubectl apply the migrated SealedSecrets
    for name in ("my-secret", "greeter-settings"):
        cluster.wait_ready("default", name, timeout=30)
        assert secret_data(cluster, "default", name) == {"message": b"hello world"}
    labels = cluster.kube.get(SECRETS, "default", "my-secret")["metadata"]["labels"]
    assert labels["app"] == "greeter"  # the Bitnami template came along
    # The imported key was loaded at start, so the controller made no key of its own, and it
    # serves both SealedSecrets.
    (key,) = json.loads(controller.get("/v1/keys"))["keys"]
    assert key["fingerprint"] == TEST_KEY_4096 and key["sealedSecrets"] == 2, key
