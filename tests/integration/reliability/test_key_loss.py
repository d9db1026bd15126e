"""The active key Secret deleted: nothing else is touched, it is reported, a backup restores it.

The documented procedure (docs/operations.md) with the real kubectl: back the keys up with
``kubectl get secret -l sealops.dev/sealing-key -o yaml``, lose the key Secret, restore with
``kubectl apply -f``. Asserted along the way:

- no user Secret is deleted or rewritten (a DeletionWatch, uids, bytes) and every SealedSecret
  stays Ready;
- the loss is reported: ``sealops_keys_removed_total`` counts it and a Warning Event
  ``SealingKeyRemoved`` names the key Secret;
- the controller makes a new key (it needs one to seal) and keeps working for new objects, while
  new SealedSecrets sealed for the lost key fail ``DecryptFailed`` and get no Secret;
- after the restore, everything converges with the same controller process (no restart).

The private key's PEM is registered as a plaintext, so the leak scans search for it too.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import urllib.error
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealer.api import EVENTS, SECRETS
from tests.integration.reliability.conftest import (
    Cluster,
    DeletionWatch,
    StartController,
    not_converged,
    sealed_batch,
    secret_uids,
    wait_converged,
    wait_for,
)

pytestmark = pytest.mark.integration

NS = "keyloss"
KEYS_NS = "sealops-system"
KEY_LABEL = "sealops.dev/sealing-key"


def kubectl(cluster: Cluster, *args: str) -> str:
    cache = cluster.kubeconfig.parent / "kubectl-cache"
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run(
        # A cache of this test's own: ~/.kube/cache may hold another server's discovery.
        [binary, "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The message without base64 runs: kubectl may echo the patch, private key and all.
    assert done.returncode == 0, re.sub(r"[A-Za-z0-9+/=]{24,}", "…", done.stderr)[:2000]
    return done.stdout


def test_deleted_key_is_reported_and_restored_from_backup(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes], tmp_path: Path
) -> None:
    controller = start_controller("--resync-interval", "5s")
    cert_a = controller.get("/v1/cert.pem")
    cluster.namespace(NS)
    watch = DeletionWatch(cluster, NS)
    docs, expected = sealed_batch(cert_a, NS, [f"old-{i}" for i in range(5)], plaintexts)
    for doc in docs:
        cluster.apply_sealed(doc)
    wait_converged(cluster, NS, expected, timeout=30)
    uids = secret_uids(cluster, NS)

    backup = tmp_path / "sealops-keys.yaml"
    backup.write_text(
        kubectl(cluster, "get", "secret", "-n", KEYS_NS, "-l", KEY_LABEL, "-o", "yaml")
    )
    (key,) = yaml.safe_load(backup.read_text())["items"]
    key_pem = base64.b64decode(key["data"]["tls.key"]).decode()
    plaintexts.append(key_pem.splitlines()[1].encode())  # a line of the private key itself

    cluster.core.delete_namespaced_secret(key["metadata"]["name"], KEYS_NS)

    wait_for(lambda: controller.metric("sealops_keys_removed_total") == 1, what="the metric")

    def removal_events() -> list[dict[str, object]]:
        return [
            e for e in cluster.kube.list(EVENTS, KEYS_NS) if e.get("reason") == "SealingKeyRemoved"
        ]

    (event,) = wait_for(removal_events, what="a SealingKeyRemoved Event")
    assert event["type"] == "Warning"
    about: Any = event.get("involvedObject") or event.get("regarding") or {}
    assert about["name"] == key["metadata"]["name"]

    def new_cert() -> bytes | None:
        try:
            cert = controller.get("/v1/cert.pem")
        except urllib.error.HTTPError as exc:  # 503 between the loss and the new key
            assert exc.code == 503, exc
            return None
        return cert if cert != cert_a else None

    cert_b: bytes = wait_for(new_cert, what="a new sealing key")

    # New SealedSecrets: for the lost key they fail; for the new key they work.
    lost, lost_expected = sealed_batch(cert_a, NS, [f"lost-{i}" for i in range(3)], plaintexts)
    fresh, fresh_expected = sealed_batch(cert_b, NS, ["fresh"], plaintexts)
    for doc in lost + fresh:
        cluster.apply_sealed(doc)
    for doc in lost:
        condition = cluster.wait_ready(NS, doc["metadata"]["name"], status="False")
        assert condition["reason"] == "DecryptFailed"
        assert cluster.secret(NS, doc["metadata"]["name"]) is None
    expected.update(fresh_expected)
    wait_for(
        lambda: not [p for p in not_converged(cluster, NS, expected) if not p.startswith("lost-")],
        what="every object but the lost key's converged",
    )
    assert {n: u for n, u in secret_uids(cluster, NS).items() if n in uids} == uids

    # --validate=false only because the emulator serves no /openapi/v2, where kubectl looks up
    # the kind List; the objects are the backup exactly as `kubectl get -o yaml` wrote it.
    kubectl(cluster, "apply", "--validate=false", "-f", str(backup))
    expected.update(lost_expected)
    wait_converged(cluster, NS, expected, timeout=45)
    assert controller.process.poll() is None, "converged without a restart"
    assert controller.metric("sealops_keys_removed_total") == 1
    keys = cluster.kube.list(SECRETS, KEYS_NS, label_selector=KEY_LABEL)
    assert len(keys) == 2, "the restored key and the one made meanwhile"
    assert {n: u for n, u in secret_uids(cluster, NS).items() if n in uids} == uids
    assert watch.close() == [], "a Secret was deleted"
