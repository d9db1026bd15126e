"""The resync: what kopf dropped, and drift a lost watch event hid, for both kinds.

A SealedSecret not Ready for its generation is reconciled again.

kopf writes a handler's outcome (the Ready condition, its retry bookkeeping) in one status patch;
when the API fails that patch (409, 500), kopf throttles and then ignores the object until its
next watch event, which may never come (found by tests/integration/reliability). The resync loop
is the backstop: anything not Ready=True for its current generation, unchanged since the previous
resync, is reconciled again, read afresh. Not sooner: an object that is merely in kopf's backlog
(measured in the soak: 2,400 objects during the first sync of 6,000) is kopf's to do, and a stale
body of a since-deleted object must not get its Secret back (the soak found 23 such orphans).

A VaultSecret's Secret, too, is put back when it is missing or changed (docs/operations.md says
the resync checks every managed Secret): before, the resync listed only SealedSecrets.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.connections import Connections
from controller.keyring import key_secret
from controller.operator import App, assemble
from controller.settings import Settings
from sealer.api import SEALED_SECRETS, SECRETS, VAULT_CONNECTIONS, VAULT_SECRETS
from sealer.kube import KubeNotFound
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from sealer.vault import RequestCounter, VaultConfig
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.fakekube import FakeKube


@pytest.fixture
def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.put("secret/shop/db", {"password": "from-vault"})
    return fake


def _app(harness: Harness, kube: FakeKube, vault: FakeVault) -> App:
    def factory(config: VaultConfig) -> FakeVault:
        return vault

    connections = Connections(
        kube=kube, controller_namespace="sealops-system", factory=factory, counter=RequestCounter()
    )
    return assemble(
        Settings(), kube=kube, keystore=harness.keystore, writer=harness.writer,
        reporter=harness.reporter, metrics=harness.metrics, connections=connections,
        clock=harness.clock, jitter=lambda: 0.5,
    )  # fmt: skip


def _sealed(kube: FakeKube, value: bytes) -> dict[str, Any]:
    plain = PlainSecret(name="db", namespace="prod", data={"k": value})
    return seal_secret(plain, [small_key(1).recipient])


def _value(kube: FakeKube) -> bytes | None:
    secret = kube.find(SECRETS, "prod", "db")
    return None if secret is None else base64.b64decode(secret["data"]["k"])


@pytest.fixture
def app(harness: Harness, kube: FakeKube, vault: FakeVault) -> App:
    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace="sealops-system"))
    harness.keystore.load()
    return _app(harness, kube, vault)


def test_a_sealed_secret_without_status_is_reconciled(app: App, kube: FakeKube) -> None:
    kube.put(SEALED_SECRETS, _sealed(kube, b"never-reconciled"))  # its status patch was lost
    app.resync.once()
    assert _value(kube) is None, "one pass: it may just be in kopf's backlog"
    app.resync.once()
    assert _value(kube) == b"never-reconciled"
    status = kube.find(SEALED_SECRETS, "prod", "db")["status"]  # type: ignore[index]
    assert status["conditions"][0]["status"] == "True"


def test_a_status_of_an_older_generation_is_reconciled(
    app: App, harness: Harness, kube: FakeKube
) -> None:
    app.sealed.reconcile(kube.put(SEALED_SECRETS, _sealed(kube, b"first")))
    body = kube.find(SEALED_SECRETS, "prod", "db")
    assert body is not None
    body["spec"] = _sealed(kube, b"second")["spec"]  # an update whose reconcile was lost
    body["metadata"]["generation"] += 1
    app.resync.once()
    app.resync.once()
    assert _value(kube) == b"second"


def test_a_changed_or_deleted_one_is_left_to_kopf(app: App, kube: FakeKube) -> None:
    body = kube.put(SEALED_SECRETS, _sealed(kube, b"moving"))
    app.resync.once()
    body["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 100)
    app.resync.once()
    assert _value(kube) is None, "it changed since the last pass: kopf has it"
    del kube.objects[("sealops.dev", "sealedsecrets", "prod", "db")]
    assert app.resync.stuck, "stuck at the last pass"
    app.resync.once()
    assert _value(kube) is None, "deleted: its Secret must not come back"


def test_a_converged_sealed_secret_is_left_alone(
    app: App, harness: Harness, kube: FakeKube
) -> None:
    app.sealed.reconcile(kube.put(SEALED_SECRETS, _sealed(kube, b"steady")))
    version = kube.find(SECRETS, "prod", "db")["metadata"]["resourceVersion"]  # type: ignore[index]
    writes = len(kube.calls)
    app.resync.once()
    app.resync.once()
    assert kube.find(SECRETS, "prod", "db")["metadata"]["resourceVersion"] == version  # type: ignore[index]
    assert [c for c in kube.calls[writes:] if c[0] not in ("get", "list")] == []


# -- VaultSecrets: their Secrets are checked too ----------------------------------------------


def _vault_secret(kube: FakeKube, **target: Any) -> dict[str, Any]:
    kube.put(SECRETS, {"metadata": {"name": "vault-token", "namespace": "shop"},
                       "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
    kube.put(VAULT_CONNECTIONS, {"metadata": {"name": "vault", "namespace": "shop"},
                                 "spec": {"address": "http://vault:8200",
                                          "auth": {"token": {"secretRef": {"name": "vault-token",
                                                                           "key": "token"}}}}})  # fmt: skip
    return kube.put(VAULT_SECRETS, {
        "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"connectionRef": {"name": "vault"}, "target": target,
                 "data": [{"key": "password", "ref": "secret/shop/db#password"}]},
    })  # fmt: skip


def _drift_deleted(kube: FakeKube, name: str) -> None:
    del kube.objects[("", "secrets", "shop", name)]


def _drift_edited(kube: FakeKube, name: str) -> None:
    secret = kube.find(SECRETS, "shop", name)
    assert secret is not None
    secret["data"]["password"] = base64.b64encode(b"edited-by-hand").decode()


@pytest.mark.parametrize(
    "drift",
    [
        pytest.param(_drift_deleted, id="deleted: the Secret event was lost"),
        pytest.param(_drift_edited, id="edited: the data no longer matches its hash"),
    ],
)
@pytest.mark.parametrize("target", [{}, {"name": "other"}], ids=["own-name", "target.name"])
def test_a_vault_secrets_drifted_secret_is_restored_at_resync(
    app: App, kube: FakeKube, drift: Any, target: dict[str, str]
) -> None:
    app.vault.reconcile(_vault_secret(kube, **target))
    name = target.get("name", "app")
    assert kube.find(VAULT_SECRETS, "shop", "app")["status"]["conditions"][0]["status"] == "True"  # type: ignore[index]
    drift(kube, name)
    app.resync.once()
    secret = kube.find(SECRETS, "shop", name)
    assert secret is not None, "the missing Secret was not restored"
    assert base64.b64decode(secret["data"]["password"]) == b"from-vault"
    assert app.metrics.drift.labels("VaultSecret")._value.get() == 1


def test_a_vault_secret_in_sync_is_left_alone(app: App, kube: FakeKube) -> None:
    app.vault.reconcile(_vault_secret(kube))
    writes = len(kube.calls)
    app.resync.once()
    app.resync.once()
    assert [c for c in kube.calls[writes:] if c[0] not in ("get", "list")] == []


def test_a_merge_target_is_not_the_resyncs_to_restore(app: App, kube: FakeKube) -> None:
    """Merge writes keys into someone else's Secret, which carries no label of ours."""
    kube.put(SECRETS, {"metadata": {"name": "shared", "namespace": "shop"}, "data": {}})
    app.vault.reconcile(_vault_secret(kube, name="shared", creationPolicy="Merge"))
    _drift_deleted(kube, "shared")
    app.resync.once()
    assert kube.find(SECRETS, "shop", "shared") is None, "Merge never creates a Secret"


def test_a_kind_without_its_crd_does_not_stop_the_others(app: App, kube: FakeKube) -> None:
    # A kind that cannot be listed (404: its CRD is not installed, as Bitnami's may not be with
    # --bitnami-compat) is skipped; the SealedSecret still converges over two passes.
    kube.put(SEALED_SECRETS, _sealed(kube, b"still-resynced"))
    for _ in range(2):
        kube.fail_next[("list", "vaultsecrets")] = KubeNotFound("not found", where="vaultsecrets")
        app.resync.once()
    assert _value(kube) == b"still-resynced"
