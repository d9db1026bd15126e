"""VaultSecret reconciling with a fake API and a fake Vault: tenant rules, failures, restarts."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from controller.connections import Connections
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import (
    ANN_RESTARTED_AT,
    CLUSTER_VAULT_CONNECTIONS,
    DEPLOYMENTS,
    SECRETS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.kube import ResourceRef
from sealer.vault import RequestCounter, VaultConfig
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Clock, Harness
from tests.unit.fakekube import FakeKube


@pytest.fixture
def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.mount("legacy", kv_version=1)
    fake.put("secret/shop/db", {"user": "admin", "password": "s3cr3t-value"})
    fake.put("legacy/shop/api", {"token": "tok-123456"})
    return fake


@pytest.fixture
def reconciler(
    harness: Harness, kube: FakeKube, vault: FakeVault, clock: Clock
) -> VaultSecretReconciler:
    configs: list[VaultConfig] = []

    def factory(config: VaultConfig) -> FakeVault:
        configs.append(config)
        return vault

    kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vault-token", "namespace": "shop"},
                       "data": {"token": base64.b64encode(b"root-token").decode()}})  # fmt: skip
    kube.put(VAULT_CONNECTIONS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "VaultConnection",
                                 "metadata": {"name": "vault", "namespace": "shop"},
                                 "spec": {"address": "http://vault:8200",
                                          "auth": {"token": {"secretRef": {"name": "vault-token", "key": "token"}}}}})  # fmt: skip
    connections = Connections(
        kube=kube, controller_namespace="sealops-system", factory=factory, counter=RequestCounter()
    )
    return VaultSecretReconciler(
        kube=kube, connections=connections, writer=harness.writer, reporter=harness.reporter,
        metrics=harness.metrics, clock=clock, jitter=lambda: 0.5,
    )  # fmt: skip


def vault_secret(kube: FakeKube, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "VaultSecret",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"connectionRef": {"kind": "VaultConnection", "name": "vault"}, **spec},
    }
    return kube.put(VAULT_SECRETS, body)


def data_of(kube: FakeKube, namespace: str = "shop", name: str = "app") -> dict[str, bytes]:
    secret = kube.find(SECRETS, namespace, name)
    assert secret is not None
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def test_fields_data_from_and_template(reconciler: VaultSecretReconciler, kube: FakeKube) -> None:
    body = vault_secret(
        kube,
        dataFrom=[{"ref": "secret/shop/db"}],
        data=[{"key": "api", "ref": "legacy/shop/api#token"}],
        target={"template": {"data": {"dsn": "pg://{{ user }}:{{ password }}@db"}}},
        refreshInterval="10m",
    )
    result = reconciler.reconcile(body)
    assert result.verdict.ready and result.verdict.reason == "Synced"
    assert data_of(kube) == {"user": b"admin", "password": b"s3cr3t-value", "api": b"tok-123456",
                             "dsn": b"pg://admin:s3cr3t-value@db"}  # fmt: skip
    assert result.next_run == pytest.approx(600.0)


def test_template_only_values_stay_out_of_the_secret(
    reconciler: VaultSecretReconciler, kube: FakeKube
) -> None:
    """A templateOnly entry feeds the templates; only a template of its name writes its key."""
    body = vault_secret(
        kube,
        data=[
            {"key": "api", "ref": "legacy/shop/api#token"},
            {"key": "pw", "ref": "secret/shop/db#password", "templateOnly": True},
            {"key": "user", "ref": "secret/shop/db#user", "templateOnly": True},
        ],
        target={
            "template": {"data": {"dsn": "pg://{{ user }}:{{ pw }}@db", "user": "{{ user }}!"}}
        },
    )
    assert reconciler.reconcile(body).verdict.ready
    assert data_of(kube) == {"api": b"tok-123456", "dsn": b"pg://admin:s3cr3t-value@db",
                             "user": b"admin!"}  # fmt: skip


def test_vault_failures_keep_the_secret(
    reconciler: VaultSecretReconciler, kube: FakeKube, vault: FakeVault
) -> None:
    body = vault_secret(kube, data=[{"key": "password", "ref": "secret/shop/db#password"}])
    reconciler.reconcile(body)
    before = kube.find(SECRETS, "shop", "app")
    vault.available = False
    result = reconciler.reconcile(body, fresh=True)  # read afresh, as a new refresh window does
    assert (result.verdict.ready, result.verdict.reason) == (False, "VaultUnavailable")
    assert result.next_run is not None and result.next_run < 60
    assert kube.find(SECRETS, "shop", "app") == before
    vault.available = True
    vault.deny("secret/shop/db")
    assert reconciler.reconcile(body).verdict.reason in (
        "Forbidden",
        "Synced",
    )  # cached read may serve


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("secret/shop/db#nope", "NotFound"),
        ("secret/shop/missing#x", "NotFound"),
        ("no-field", "InvalidSpec"),
    ],
    ids=["missing-field", "missing-path", "bad-reference"],
)
def test_reference_errors(
    reconciler: VaultSecretReconciler, kube: FakeKube, ref: str, reason: str
) -> None:
    result = reconciler.reconcile(vault_secret(kube, data=[{"key": "k", "ref": ref}]))
    assert result.verdict.reason == reason
    assert "spec.data[0].ref" in result.verdict.message
    assert kube.find(SECRETS, "shop", "app") is None


def test_other_tenants_connection_is_refused(
    reconciler: VaultSecretReconciler, kube: FakeKube
) -> None:
    body = vault_secret(
        kube, namespace="evil", data=[{"key": "p", "ref": "secret/shop/db#password"}]
    )
    result = reconciler.reconcile(body)
    assert result.verdict.reason == "InvalidSpec"
    assert "VaultConnection evil/vault not found" in result.verdict.message


@pytest.mark.parametrize(
    ("allowed", "ready"),
    [(["shop"], True), (["sh*"], True), (["other"], False), ([], False)],
    ids=["exact", "glob", "other-namespace", "none"],
)
def test_cluster_connection_allowed_namespaces(
    reconciler: VaultSecretReconciler, kube: FakeKube, allowed: list[str], ready: bool
) -> None:
    kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "sealops-system"},
                       "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
    kube.put(CLUSTER_VAULT_CONNECTIONS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "ClusterVaultConnection",
                                         "metadata": {"name": "shared"},
                                         "spec": {"address": "http://vault:8200", "allowedNamespaces": allowed,
                                                  "auth": {"token": {"secretRef": {"name": "t", "key": "token"}}}}})  # fmt: skip
    body = vault_secret(kube, data=[{"key": "p", "ref": "secret/shop/db#password"}])
    body["spec"]["connectionRef"] = {"kind": "ClusterVaultConnection", "name": "shared"}
    result = reconciler.reconcile(body)
    assert result.verdict.ready is ready
    if not ready:
        assert result.verdict.reason == "Forbidden"


def test_rollout_restart_only_when_data_changes(
    reconciler: VaultSecretReconciler, kube: FakeKube, vault: FakeVault
) -> None:
    kube.put(DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                           "spec": {"template": {"metadata": {}}}})  # fmt: skip
    body = vault_secret(kube, data=[{"key": "p", "ref": "secret/shop/db#password"}],
                        rolloutRestartTargets=[{"kind": "Deployment", "name": "web"}], refreshInterval="0")  # fmt: skip

    def restarted() -> str | None:
        deployment = kube.find(DEPLOYMENTS, "shop", "web")
        assert deployment is not None
        return (deployment["spec"]["template"]["metadata"].get("annotations") or {}).get(
            ANN_RESTARTED_AT
        )

    first = reconciler.reconcile(body)
    assert first.next_run is None, "refreshInterval 0 syncs once"
    assert restarted() is None, "the first sync restarts nothing"
    reconciler.reconcile(body)
    assert restarted() is None, "no change, no restart"
    vault.put("secret/shop/db", {"user": "admin", "password": "rotated-value"})
    reconciler.reconcile(body, fresh=True)  # read afresh, as a new refresh window does
    assert restarted() is not None


def test_merge_policy_needs_an_existing_secret(
    reconciler: VaultSecretReconciler, kube: FakeKube
) -> None:
    body = vault_secret(
        kube,
        data=[{"key": "p", "ref": "secret/shop/db#password"}],
        target={"creationPolicy": "Merge"},
    )
    assert reconciler.reconcile(body).verdict.reason == "UpdateFailed"


class _TogetherKube(FakeKube):
    """Holds every reader of a VaultConnection until all have read it: a first sync's race."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=5)

    def get(self, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
        found = super().get(ref, namespace, name)
        if ref == VAULT_CONNECTIONS:
            self.barrier.wait()
        return found


def test_concurrent_first_syncs_share_one_resolver() -> None:
    """Eight VaultSecrets of one connection syncing at once share one resolver (one login, one
    ReadCache). Before the fix each thread that missed the cache made its own, and a later one
    evicted and closed an earlier one still in use: the controller logged in twice at startup."""
    threads = 8
    kube = _TogetherKube(threads)
    kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "shop"},
                       "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
    kube.put(VAULT_CONNECTIONS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "VaultConnection",
                                 "metadata": {"name": "vault", "namespace": "shop"},
                                 "spec": {"address": "http://vault:8200",
                                          "auth": {"token": {"secretRef": {"name": "t", "key": "token"}}}}})  # fmt: skip
    made: list[VaultConfig] = []

    def factory(config: VaultConfig) -> FakeVault:
        made.append(config)
        time.sleep(0.05)  # the real factory's first call imports hvac: a wide race window
        return FakeVault()

    connections = Connections(
        kube=kube, controller_namespace="sealops-system", factory=factory, counter=RequestCounter()
    )
    with ThreadPoolExecutor(threads) as pool:
        got = list(
            pool.map(
                lambda _: connections.resolver_for("shop", {"name": "vault"}, max_age=60),
                range(threads),
            )
        )
    assert len(made) == 1
    assert all(r is got[0] for r in got)


def test_a_changed_vault_secret_reads_afresh(
    reconciler: VaultSecretReconciler, kube: FakeKube, vault: FakeVault
) -> None:
    body = vault_secret(
        kube, data=[{"key": "p", "ref": "secret/shop/db#password"}], refreshInterval="1h"
    )
    reconciler.reconcile(body)
    vault.put("secret/shop/db", {"user": "admin", "password": "changed-in-vault"})
    reconciler.reconcile(body)
    assert data_of(kube) == {"p": b"s3cr3t-value"}, (
        "a refresh inside the window is served from the cache"
    )
    reconciler.reconcile(body, fresh=True)  # what an edit or a force-sync annotation does
    assert data_of(kube) == {"p": b"changed-in-vault"}
