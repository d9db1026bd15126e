"""Examples 03, 06 and 08 in a cluster: kubectl and ``seal`` from the READMEs against the API
emulator, with the real controller process (and, for 03, OpenBao)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import time
from typing import Any

import pytest
import yaml

from sandbox.openbao import OpenBao
from sealer.api import DEPLOYMENTS, ENDPOINTS, SECRETS, SERVICES, VAULT_SECRETS
from sealer.kube import KubeNotFound
from tests.integration.controller.conftest import (
    SEALED,
    Cluster,
    Controller,
    StartController,
    wait_for,
)
from tests.integration.examples.conftest import ROOT

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


def test_06_bitnami_keys_in_place(
    example: Any, cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    """Option b of the README: ``--bitnami-compat`` reads Bitnami's key Secrets in kube-system."""
    plaintexts.append(b"hello world")
    ex = example("06-migrate-from-bitnami", KUBECONFIG=str(cluster.kubeconfig))
    ex.run(0, 2)  # the backup stand-in, migrate
    cluster.namespace("kube-system")
    # Bitnami's keys where Bitnami's controller keeps them (a cluster already has them).
    done = subprocess.run(
        ["kubectl", "apply", "--validate=false", "-f", "bitnami-keys.yaml"],
        cwd=ex.dir,
        env=ex.env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    controller = start_controller("--bitnami-compat")
    ex.run(5)  # kubectl apply the migrated SealedSecrets
    for name in ("my-secret", "greeter-settings"):
        cluster.wait_ready("default", name, timeout=30)
        assert secret_data(cluster, "default", name) == {"message": b"hello world"}
    assert TEST_KEY_4096 in keys(controller)
    # Nothing was copied into the controller's namespace.
    copied = cluster.kube.list(SECRETS, "sealops-system")
    assert all(
        "sealedsecrets.bitnami.com/sealed-secrets-key" not in (s["metadata"].get("labels") or {})
        for s in copied
    )


def vault_secret_ready(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    body = cluster.kube.get(VAULT_SECRETS, namespace, name)
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return dict(condition)
    return None


def test_03_vaultsecret_kubernetes_auth(
    example: Any,
    cluster: Cluster,
    start_controller: StartController,
    plaintexts: list[bytes],
    bao: OpenBao,
) -> None:
    plaintexts += [b"example-api-key", b"example-webhook-secret", b"payments@shop.example"]
    ex = example(
        "03-vaultsecret-kubernetes-auth",
        KUBECONFIG=str(cluster.kubeconfig),
        VAULT_ADDR=bao.address,
        VAULT_TOKEN=bao.root_token,
        KUBERNETES_HOST=cluster.kubeapi.url,
        KUBERNETES_CA=str(ROOT / "tests" / "data" / "cert-2048.pem"),  # never used over http
    )
    connection = ex.path("vaultconnection.yaml")
    connection.write_text(
        connection.read_text().replace("http://openbao.openbao.svc:8200", bao.address)
    )
    controller = start_controller()
    ex.run(0, 3)  # Vault setup, values, kubectl apply

    condition = wait_for(
        lambda: vault_secret_ready(cluster, "shop", "payments"), what="VaultSecret Ready"
    )
    assert condition["reason"] == "Synced"
    assert secret_data(cluster, "shop", "payments") == {
        "API_KEY": b"example-api-key",
        "WEBHOOK_SECRET": b"example-webhook-secret",
        "region": b"eu-west-1",
        "support_email": b"payments@shop.example",
        "PAYMENTS_URL": b"https://example-api-key@payments.example/eu-west-1",
    }
    secret = cluster.kube.get(SECRETS, "shop", "payments")
    assert secret["metadata"]["labels"]["app"] == "checkout"
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("VaultSecret", "payments")
    assert "logged in to Vault (kubernetes role 'shop'" in controller.logs()
    assert not restarted_at(cluster)  # the first sync restarts nothing

    ex.run(3)  # a new value in Vault, then the force-sync annotation
    wait_for(
        lambda: (
            (secret_data(cluster, "shop", "payments") or {}).get("API_KEY") == b"example-api-key-2"
        ),
        what="the new value in the Secret",
    )
    wait_for(lambda: restarted_at(cluster), what="checkout restarted")


def restarted_at(cluster: Cluster) -> str | None:
    deployment = cluster.kube.get(DEPLOYMENTS, "shop", "checkout")
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    return annotations.get("sealops.dev/restartedAt")


def expose(cluster: Cluster, controller: Controller) -> None:
    """Service ``sealops-system/sealops-controller`` (deploy/base) with Endpoints at the
    controller's port: what a cluster's kube-proxy setup gives ``seal``'s service-proxy calls."""
    port = int(controller.url.rpartition(":")[2])
    endpoints: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "sealops-controller", "namespace": "sealops-system"},
        "subsets": [
            {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]}
        ],
    }
    try:
        current = cluster.kube.get(ENDPOINTS, "sealops-system", "sealops-controller")
    except KubeNotFound:
        service = yaml.safe_load((ROOT / "deploy" / "base" / "service.yaml").read_text())
        cluster.kube.create(SERVICES, "sealops-system", service)
        cluster.kube.create(ENDPOINTS, "sealops-system", endpoints)
        return
    endpoints["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    cluster.kube.replace(ENDPOINTS, "sealops-system", "sealops-controller", endpoints)


def keys(controller: Controller) -> dict[str, dict[str, Any]]:
    return {k["fingerprint"]: k for k in json.loads(controller.get("/v1/keys"))["keys"]}


def test_08_key_rotation(
    example: Any, cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"example-db-pass-1")
    ex = example("08-key-rotation", KUBECONFIG=str(cluster.kubeconfig))
    first = start_controller()
    expose(cluster, first)
    ex.run(0, 2)  # seal with the controller's key, apply, back up the keys
    cluster.wait_ready("shop", "db-credentials")
    assert secret_data(cluster, "shop", "db-credentials") == {"password": b"example-db-pass-1"}
    (old,) = keys(first)
    (item,) = ex.yaml("sealops-keys.yaml")["items"]
    assert not {"resourceVersion", "uid"} & set(item["metadata"]) and item["data"]["tls.key"]

    # The README's `kubectl set env … SEALOPS_KEY_CUTOFF_TIME=now`, then the rollout: the same
    # controller restarted with that environment.
    first.stop()
    cutoff = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)  # the new key must be made after the cutoff, to the second
    second = start_controller(env={"SEALOPS_KEY_CUTOFF_TIME": cutoff})
    expose(cluster, second)
    (new,) = set(keys(second)) - {old}
    assert keys(second)[new]["sealing"] and keys(second)[old]["sealedSecrets"] == 1

    ex.run(2, 3)  # seal keys, reencrypt, apply
    wait_for(
        lambda: cluster.kube.get(SEALED, "shop", "db-credentials")["status"]["sealedWith"] == [new],
        what="db-credentials opened with the new key",
    )
    resealed = ex.yaml("db-credentials.sealed.yaml")
    assert resealed["metadata"]["annotations"]["sealops.dev/sealed-with"] == new
    wait_for(lambda: keys(second)[old]["sealedSecrets"] == 0, what="the old key serves nothing")
    assert secret_data(cluster, "shop", "db-credentials") == {"password": b"example-db-pass-1"}
    table = ex.run(3, 4)  # seal keys
    (old_row,) = [line.split() for line in table.splitlines() if line.startswith(old)]
    assert old_row[2:4] == ["0", "Secret"], table  # not sealing, serves 0
    old_secret = keys(second)[old]["secret"]

    ex.run(4, 5)  # retire the old key
    wait_for(lambda: old not in keys(second), what="the old key unloaded")
    assert second.metric("sealops_keys_removed_total") == 1
    assert cluster.kube.get(SEALED, "shop", "db-credentials")  # nothing else touched
    assert secret_data(cluster, "shop", "db-credentials") == {"password": b"example-db-pass-1"}

    ex.run(5)  # restore from the backup
    wait_for(lambda: old in keys(second), what="the old key restored")
    assert keys(second)[old]["secret"] == old_secret and keys(second)[new]["sealing"]
