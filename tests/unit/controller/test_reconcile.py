"""The one reconcile path of both kinds: the error table, the backoff, the queue, the lock table.

Before, the two reconcilers mapped errors to reasons separately, and a Kubernetes API outage on
a VaultSecret came out as ``VaultUnavailable`` (on a SealedSecret, ``UpdateFailed``); SealedSecret
retries were kopf's ``TemporaryError`` with their own backoff, VaultSecret retries the queue's
with another; and the SealedSecret reconciler never dropped a lock, though ``locks.py`` said so.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from controller.connections import AudiencesUnknown, ConnectionForbidden, ConnectionInvalid
from controller.engines.leader import Leader
from controller.engines.queue import QueueRuns
from controller.keyring import key_secret
from controller.operator import App, assemble
from controller.reconcile import Reconciler, queue_key
from controller.secretwriter import ReservedMetadata, SecretNotOwned, UpdateFailed, WriteForbidden
from controller.settings import Settings
from controller.verdicts import RULES, backoff, rule_for
from sealer.api import (
    PEERINGS,
    SEALED_SECRETS,
    SECRETS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
    Reason,
    Retry,
)
from sealer.errors import DecryptError, EnvelopeError, ManifestError, SealopsError, TemplateError
from sealer.kube import (
    InvalidName,
    KubeConflict,
    KubeError,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
)
from sealer.manifests import PlainSecret
from sealer.sealing import WorkBoundError, seal_secret
from sealer.vault import (
    Forbidden,
    InvalidReference,
    LoginFailed,
    NotFound,
    RequestCounter,
    VaultConfig,
    VaultConfigError,
    VaultUnavailable,
)
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.fakekube import FakeKube, unavailable


class _Retryable(SealopsError):
    reason = "SomethingNew"
    retryable = True


class _OwnReason(SealopsError):
    reason = "SecretNotOwned"


# (error, reason, retry class, first delay): one row per class a sync can raise.
TABLE = [
    pytest.param(ManifestError("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="manifest: only an edit fixes it"),
    pytest.param(InvalidName("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="a name the API refuses"),
    pytest.param(WorkBoundError("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="over the RSA work bound"),
    pytest.param(TemplateError("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="template"),
    pytest.param(ReservedMetadata("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="reserved metadata"),
    pytest.param(ConnectionInvalid("x"), Reason.INVALID_SPEC, Retry.BACKOFF, 60.0, id="connection: fixed without an edit"),
    pytest.param(InvalidReference("x"), Reason.INVALID_SPEC, Retry.BACKOFF, 60.0, id="reference (a mount's version may change)"),
    pytest.param(VaultConfigError("x"), Reason.INVALID_SPEC, Retry.BACKOFF, 60.0, id="connection settings"),
    pytest.param(EnvelopeError("x"), Reason.DECRYPT_FAILED, Retry.BACKOFF, 30.0, id="envelope: a key may be restored"),
    pytest.param(DecryptError("x"), Reason.DECRYPT_FAILED, Retry.BACKOFF, 30.0, id="no key opens it"),
    pytest.param(SecretNotOwned("x"), Reason.SECRET_NOT_OWNED, Retry.BACKOFF, 60.0, id="someone else's Secret"),
    pytest.param(UpdateFailed("x"), Reason.UPDATE_FAILED, Retry.BACKOFF, 60.0, id="immutable or type change"),
    pytest.param(WriteForbidden("x"), Reason.FORBIDDEN, Retry.REFRESH, None, id="controller namespace: until edited"),
    pytest.param(AudiencesUnknown("x"), Reason.FORBIDDEN, Retry.BACKOFF, 5.0, id="audiences not learned yet"),
    pytest.param(ConnectionForbidden("x"), Reason.FORBIDDEN, Retry.BACKOFF, 5.0, id="namespace not allowed"),
    pytest.param(Forbidden("x"), Reason.FORBIDDEN, Retry.BACKOFF, 5.0, id="vault policy"),
    pytest.param(LoginFailed("x"), Reason.FORBIDDEN, Retry.BACKOFF, 5.0, id="vault login"),
    pytest.param(NotFound("x"), Reason.NOT_FOUND, Retry.BACKOFF, 5.0, id="vault path missing"),
    pytest.param(VaultUnavailable("x"), Reason.VAULT_UNAVAILABLE, Retry.BACKOFF, 5.0, id="vault outage"),
    pytest.param(KubeUnavailable("x"), Reason.KUBERNETES_UNAVAILABLE, Retry.BACKOFF, 5.0, id="api outage: not VaultUnavailable"),
    pytest.param(KubeError("x", status=403), Reason.UPDATE_FAILED, Retry.BACKOFF, 60.0, id="api refuses us: our grants, Degraded"),
    pytest.param(KubeNotFound("x"), Reason.UPDATE_FAILED, Retry.BACKOFF, 5.0, id="404 under a write: not Vault's NotFound"),
    pytest.param(KubeInvalid("x"), Reason.UPDATE_FAILED, Retry.BACKOFF, 60.0, id="422 on the write"),
    pytest.param(KubeConflict("x"), Reason.UPDATE_FAILED, Retry.BACKOFF, 1.0, id="409: again at once"),
    pytest.param(_OwnReason("x"), Reason.SECRET_NOT_OWNED, Retry.BACKOFF, 60.0, id="unlisted, with a reason of ours"),
    pytest.param(_Retryable("x"), Reason.INVALID_SPEC, Retry.BACKOFF, 5.0, id="unlisted, retryable"),
    pytest.param(SealopsError("x"), Reason.INVALID_SPEC, Retry.REFRESH, None, id="unlisted"),
]  # fmt: skip


@pytest.mark.parametrize(("error", "reason", "retry", "base"), TABLE)
def test_each_error_has_one_verdict(
    error: SealopsError, reason: Reason, retry: Retry, base: float | None
) -> None:
    rule = rule_for(error)
    assert (rule.reason, rule.retry) == (reason, retry)
    if base is not None:
        assert rule.base == base
    assert rule.event is not isinstance(error, KubeConflict), "only a conflict posts no Event"


def test_every_row_is_a_failure_reason_and_reachable() -> None:
    for index, rule in enumerate(RULES):
        assert not rule.reason.ready, rule
        assert rule.retry is not Retry.BACKOFF or 0 < rule.base <= rule.cap, rule
        shadowed = [r for r in RULES[:index] if issubclass(rule.error, r.error)]
        assert not shadowed, f"{rule.error.__name__} is shadowed by {shadowed[0].error.__name__}"


@pytest.mark.parametrize(
    ("failures", "base", "cap", "jitter", "expected"),
    [
        pytest.param(1, 30, 1800, 0.999999, 30.0, id="first retry: the base"),
        pytest.param(2, 30, 1800, 0.999999, 60.0, id="doubles"),
        pytest.param(7, 30, 1800, 0.999999, 1800.0, id="capped"),
        pytest.param(10_000, 5, 300, 0.999999, 300.0, id="no overflow"),
        pytest.param(1, 30, 1800, 0.0, 15.0, id="jitter halves at most"),
        pytest.param(3, 5, 600, 0.5, 15.0, id="between"),
        pytest.param(1, 1, 1, 0.0, 1.0, id="never under a second"),
        pytest.param(0, 5, 600, 0.999999, 5.0, id="zero counts as the first"),
    ],
)
def test_backoff(failures: int, base: float, cap: float, jitter: float, expected: float) -> None:
    assert backoff(failures, base, cap, jitter) == pytest.approx(expected, rel=1e-5)


# -- one app, both kinds ------------------------------------------------------------------------


@pytest.fixture
def vault() -> FakeVault:
    fake = FakeVault()
    fake.mount("secret", kv_version=2)
    fake.put("secret/shop/db", {"password": "from-vault"})
    return fake


@pytest.fixture
def app(harness: Harness, kube: FakeKube, vault: FakeVault) -> App:
    from controller.connections import Connections

    def factory(config: VaultConfig) -> FakeVault:
        return vault

    kube.put(SECRETS, key_secret(small_key(1), name="k1", namespace="sealops-system"))
    harness.keystore.load()
    connections = Connections(
        kube=kube, controller_namespace="sealops-system", factory=factory, counter=RequestCounter()
    )
    return assemble(
        Settings(), kube=kube, keystore=harness.keystore, writer=harness.writer,
        reporter=harness.reporter, metrics=harness.metrics, connections=connections,
        clock=harness.clock, jitter=lambda: 0.5,
    )  # fmt: skip


def sealed_secret(kube: FakeKube, key: int = 1) -> dict[str, Any]:
    plain = PlainSecret(name="db", namespace="shop", data={"password": b"sealed-value"})
    return kube.put(SEALED_SECRETS, seal_secret(plain, [small_key(key).recipient]))


def vault_secret(kube: FakeKube) -> dict[str, Any]:
    kube.put(SECRETS, {"metadata": {"name": "vault-token", "namespace": "shop"},
                       "data": {"token": base64.b64encode(b"root").decode()}})  # fmt: skip
    kube.put(VAULT_CONNECTIONS, {"metadata": {"name": "vault", "namespace": "shop"},
                                 "spec": {"address": "http://vault:8200",
                                          "auth": {"token": {"secretRef": {"name": "vault-token",
                                                                           "key": "token"}}}}})  # fmt: skip
    return kube.put(VAULT_SECRETS, {
        "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"connectionRef": {"name": "vault"}, "refreshInterval": "1h",
                 "data": [{"key": "password", "ref": "secret/shop/db#password"}]},
    })  # fmt: skip


def _api_down_on_connection(kube: FakeKube, vault: FakeVault) -> None:
    kube.fail_next[("get", "vaultconnections")] = unavailable()


def _api_down_on_write(kube: FakeKube, vault: FakeVault) -> None:
    kube.fail_next[("create", "secrets")] = unavailable()


def _api_refuses_write(kube: FakeKube, vault: FakeVault) -> None:
    kube.fail_next[("create", "secrets")] = KubeError("403 forbidden", status=403)


def _vault_down(kube: FakeKube, vault: FakeVault) -> None:
    vault.available = False


@pytest.mark.parametrize(
    ("kind", "fault", "reason"),
    [
        pytest.param("VaultSecret", _api_down_on_connection, "KubernetesUnavailable",
                     id="VaultSecret, API down reading its connection (was VaultUnavailable)"),
        pytest.param("VaultSecret", _api_down_on_write, "KubernetesUnavailable",
                     id="VaultSecret, API down writing its Secret (was UpdateFailed)"),
        pytest.param("SealedSecret", _api_down_on_write, "KubernetesUnavailable",
                     id="SealedSecret, API down writing its Secret (was UpdateFailed)"),
        pytest.param("VaultSecret", _vault_down, "VaultUnavailable", id="VaultSecret, Vault down"),
    ],
)  # fmt: skip
def test_an_outage_is_named_for_what_is_down(
    app: App, kube: FakeKube, vault: FakeVault, kind: str, fault: Any, reason: str
) -> None:
    body = vault_secret(kube) if kind == "VaultSecret" else sealed_secret(kube)
    fault(kube, vault)
    result = app.reconcilers[kind].reconcile(body)
    assert (result.verdict.ready, result.verdict.reason) == (False, reason), result.verdict.message
    assert result.next_run == pytest.approx(3.75), "retried soon: backoff(1, 5 s), jitter 0.5"
    assert kube.find(SECRETS, "shop", body["metadata"]["name"]) is None
    status = kube.find(app.reconcilers[kind].ref, "shop", body["metadata"]["name"])["status"]  # type: ignore[index]
    assert status["conditions"][0]["reason"] == reason


def test_a_refused_write_is_not_an_outage(app: App, kube: FakeKube) -> None:
    """A 403 is the controller's own grants: it lasts until someone acts (Degraded), slowly."""
    body = sealed_secret(kube)
    _api_refuses_write(kube, FakeVault())
    result = app.sealed.reconcile(body)
    assert (result.verdict.ready, result.verdict.reason) == (False, "UpdateFailed")
    assert result.next_run == pytest.approx(45.0), "backoff(1, 60 s), jitter 0.5"
    assert kube.find(SECRETS, "shop", body["metadata"]["name"]) is None


def _entry(reconciler: Reconciler, body: dict[str, Any]) -> str:
    return queue_key(reconciler.kind, f"shop/{body['metadata']['name']}")


def test_every_retry_goes_through_the_one_queue(app: App, kube: FakeKube, vault: FakeVault) -> None:
    """Both kinds: each failure schedules the next run with the one backoff, a run that comes
    due reads the object afresh, success ends the retries (a VaultSecret's refresh remains)."""
    runs = QueueRuns(reconcilers=app.reconcilers, leader=app.leader)
    lost = sealed_secret(kube)
    backup = kube.objects.pop(("", "secrets", "sealops-system", "k1"))  # its key is lost
    app.keystore.load()
    vault.available = False
    vs = vault_secret(kube)
    for reconciler, body, base in ((app.sealed, lost, 30.0), (app.vault, vs, 5.0)):
        reconciler.reconcile(body)
        entry = _entry(reconciler, body)
        assert app.scheduler.due(entry) == pytest.approx(base * 0.75, abs=0.5)
        runs(entry)  # the retry came due: fails again, waits twice as long
        assert app.scheduler.due(entry) == pytest.approx(base * 1.5, abs=0.5)
    kube.put(SECRETS, backup)  # the key restored from its backup
    app.sealed._last_reload = 0.0
    vault.available = True
    runs(_entry(app.sealed, lost))
    runs(_entry(app.vault, vs))
    assert app.scheduler.due(_entry(app.sealed, lost)) is None, "Unsealed: no retry queued"
    assert app.scheduler.due(_entry(app.vault, vs)) == pytest.approx(3600.0, abs=1.0)
    assert kube.find(SECRETS, "shop", "db") is not None
    assert kube.find(SECRETS, "shop", "app") is not None


def test_an_edit_starts_the_backoff_afresh(app: App, kube: FakeKube) -> None:
    body = sealed_secret(kube, key=2)
    for _ in range(3):
        app.sealed.reconcile(body)
    assert app.scheduler.due(_entry(app.sealed, body)) == pytest.approx(90.0, abs=0.5)
    app.sealed.reconcile(body, fresh=True)  # kopf's update handler: the user changed it
    assert app.scheduler.due(_entry(app.sealed, body)) == pytest.approx(22.5, abs=0.5)


def test_a_paused_replica_keeps_its_queued_runs_for_later(
    harness: Harness, kube: FakeKube, app: App
) -> None:
    """kopf pauses its handlers in a standby replica; its queue, outside kopf, must pause too,
    and keep the run: a replica active again gets no second resume from kopf."""
    now = dt.datetime.now(dt.UTC)
    peer = {"priority": 200, "lifetime": 60, "lastseen": now.isoformat()}
    kube.put(PEERINGS, {"metadata": {"name": "sealops", "namespace": "shop"}, "status": {"peer": peer}})  # fmt: skip
    body = sealed_secret(kube)
    entry = _entry(app.sealed, body)
    leader = Leader(kube, peering="sealops", identity="me", priority=100, clock=lambda: now,
                    sharded=True)  # fmt: skip
    standby = QueueRuns(reconcilers=app.reconcilers, leader=leader, standby_delay=30.0)
    standby.queue = app.scheduler
    standby(entry)
    assert kube.find(SECRETS, "shop", "db") is None, "the standby reconciled"
    assert app.scheduler.due(entry) == pytest.approx(30.0, abs=0.5), "kept, asked again later"
    QueueRuns(reconcilers=app.reconcilers, leader=app.leader)(entry)
    assert kube.find(SECRETS, "shop", "db") is not None, "active (standalone): it reconciles"


@pytest.mark.parametrize("kind", ["SealedSecret", "VaultSecret"])
def test_a_queued_run_outlives_an_api_outage(
    app: App, kube: FakeKube, vault: FakeVault, kind: str
) -> None:
    """The object cannot even be read when its run comes due: the run is retried, not lost."""
    reconciler = app.reconcilers[kind]
    body = sealed_secret(kube) if kind == "SealedSecret" else vault_secret(kube)
    entry = _entry(reconciler, body)
    kube.fail_next[("get", reconciler.ref.plural)] = unavailable()
    QueueRuns(reconcilers=app.reconcilers, leader=app.leader)(entry)  # no exception escapes
    assert app.scheduler.due(entry) == pytest.approx(3.75, abs=0.5), "backoff(1, 5 s)"
    QueueRuns(reconcilers=app.reconcilers, leader=app.leader)(entry)  # the API is back
    assert kube.find(SECRETS, "shop", body["metadata"]["name"]) is not None


def test_the_resync_forgets_only_what_it_knew_before_listing(
    app: App, kube: FakeKube, vault: FakeVault
) -> None:
    """An object that appears while the resync runs keeps its lock and its queued run."""
    known = app.vault.known()  # what the resync snapshots, before its listing
    body = vault_secret(kube)  # created after the snapshot, not in the listing
    app.vault.reconcile(body)
    entry = _entry(app.vault, body)
    assert app.scheduler.due(entry) is not None
    app.vault.retain(present=set(), known=known)
    assert app.vault.locks.keys() == ["shop/app"] and app.scheduler.due(entry) is not None
    app.vault.retain(present=set(), known=app.vault.known())  # gone at a later resync: forgotten
    assert app.vault.locks.keys() == [] and app.scheduler.due(entry) is None


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        pytest.param({"token": {"secretRef": {"name": "Bad_Name", "key": "token"}}},
                     "spec.auth.token.secretRef.name", id="token Secret"),
        pytest.param({"kubernetes": {"role": "r", "serviceAccountName": "../admin"}},
                     "spec.auth.kubernetes.serviceAccountName", id="ServiceAccount"),
    ],
)  # fmt: skip
def test_a_bad_name_in_a_connection_is_the_connections_fault(
    app: App, kube: FakeKube, auth: dict[str, Any], field: str
) -> None:
    """Fixing the connection fixes the VaultSecret, untouched: retried with backoff, not at the
    VaultSecret's refresh (an hour)."""
    body = vault_secret(kube)
    kube.put(VAULT_CONNECTIONS, {"metadata": {"name": "vault", "namespace": "shop"},
                                 "spec": {"address": "http://vault:8200", "auth": auth}})  # fmt: skip
    result = app.vault.reconcile(body)
    assert (result.verdict.ready, result.verdict.reason) == (False, "InvalidSpec")
    assert field in result.verdict.message
    assert result.next_run == pytest.approx(45.0), "backoff(1, 60 s), jitter 0.5"


# -- the lock table drops an object that is gone ------------------------------------------------


def _gone_by_queued_run(app: App, reconciler: Reconciler, key: str, secret: Any) -> None:
    QueueRuns(reconcilers=app.reconcilers, leader=app.leader)(queue_key(reconciler.kind, key))


def _gone_by_resync(app: App, reconciler: Reconciler, key: str, secret: Any) -> None:
    app.resync.once()


def _gone_by_drift_check(app: App, reconciler: Reconciler, key: str, secret: Any) -> None:
    app.drift.check({"type": "DELETED", "object": secret})


@pytest.mark.parametrize(
    "notice",
    [
        pytest.param(_gone_by_queued_run, id="a queued run finds it gone"),
        pytest.param(_gone_by_resync, id="the resync no longer lists it"),
        pytest.param(_gone_by_drift_check, id="the drift check finds its owner gone"),
    ],
)
@pytest.mark.parametrize("kind", ["SealedSecret", "VaultSecret"])
def test_the_lock_table_drops_an_object_that_is_gone(
    app: App, kube: FakeKube, vault: FakeVault, kind: str, notice: Any
) -> None:
    reconciler = app.reconcilers[kind]
    body = sealed_secret(kube) if kind == "SealedSecret" else vault_secret(kube)
    name = body["metadata"]["name"]
    vault.available = False  # the VaultSecret fails, so a retry is queued too
    reconciler.reconcile(body)
    vault.available = True
    if kind == "VaultSecret":
        reconciler.reconcile(body)  # now its Secret exists, for the drift check
    key = f"shop/{name}"
    assert reconciler.locks.keys() == [key]
    secret = kube.find(SECRETS, "shop", name)
    del kube.objects[(reconciler.ref.group, reconciler.ref.plural, "shop", name)]
    notice(app, reconciler, key, secret)
    assert reconciler.locks.keys() == []
    assert app.scheduler.due(queue_key(kind, key)) is None, "a queued run stayed behind"
    assert kube.find(SECRETS, "shop", name) == secret, "nothing else was touched"
