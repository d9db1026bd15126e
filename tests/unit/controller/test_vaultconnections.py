"""A connection's own status: a login check on change, then every CHECK_INTERVAL; one Event.

The check logs in with a session of its own (the Connections' login, not a cached resolver), as
the tenant Kubernetes auth would log in as; a cluster-scoped connection's queued run finds it
by name alone.
"""

from __future__ import annotations

import base64
from typing import Any

from controller.connections import Connections
from controller.vaultconnections import (
    CHECK_INTERVAL,
    MIN_SPACING,
    ClusterVaultConnectionReconciler,
    VaultConnectionReconciler,
)
from sealer.api import (
    CLUSTER_VAULT_CONNECTIONS,
    EVENTS,
    SECRETS,
    SERVICE_ACCOUNTS,
    VAULT_CONNECTIONS,
)
from sealer.vault import KubernetesAuth, RequestCounter, VaultConfig, VaultUnavailable
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Clock, Harness
from tests.unit.fakekube import FakeKube


class Queue:
    def __init__(self) -> None:
        self.scheduled: dict[str, float] = {}

    def schedule(self, key: str, delay: float) -> None:
        self.scheduled[key] = delay

    def cancel(self, key: str) -> None:
        self.scheduled.pop(key, None)


class World:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.harness = Harness(self.kube, Clock())
        self.logins: list[VaultConfig] = []
        self.made: list[VaultConfig] = []
        self.down = False
        self.queue = Queue()
        self.now = 1000.0  # the reconcilers' monotonic clock
        self.connections = Connections(
            kube=self.kube, controller_namespace="sealops-system", factory=self._factory,
            counter=RequestCounter(), login=self._login,
        )  # fmt: skip
        made: dict[str, Any] = {"kube": self.kube, "connections": self.connections,
                                "reporter": self.harness.reporter, "metrics": self.harness.metrics,
                                "jitter": lambda: 0.5, "queue": self.queue,
                                "clock": lambda: self.now}  # fmt: skip
        self.own = VaultConnectionReconciler(**made)
        self.cluster = ClusterVaultConnectionReconciler(**made)
        token = base64.b64encode(b"t").decode()
        self.kube.put(SECRETS, {"metadata": {"name": "tok", "namespace": "sealops-system"},
                                "data": {"token": token}})  # fmt: skip

    def _factory(self, config: VaultConfig) -> FakeVault:
        self.made.append(config)
        return FakeVault()

    def _login(self, config: VaultConfig) -> None:
        self.logins.append(config)
        if self.down:
            raise VaultUnavailable("cannot reach Vault at http://vault:8200: connection refused")
        if isinstance(config.auth, KubernetesAuth) and config.auth.jwt_source is not None:
            config.auth.jwt_source()

    def cluster_connection(self, **spec: Any) -> dict[str, Any]:
        auth = {"token": {"secretRef": {"name": "tok", "key": "token"}}}
        return self.kube.put(CLUSTER_VAULT_CONNECTIONS, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "ClusterVaultConnection",
            "metadata": {"name": "shared"},
            "spec": {"address": "https://user:pw@vault.example:8200", "auth": auth,
                     "allowedNamespaces": ["team-*", "shop"], **spec}})  # fmt: skip

    def ready(self, ref: Any, namespace: str | None, name: str) -> dict[str, Any]:
        body = self.kube.find(ref, namespace, name)
        assert body is not None
        return next(c for c in body["status"]["conditions"] if c["type"] == "Ready")


def test_a_working_connection_is_checked_again_every_interval_with_one_event() -> None:
    world = World()
    result = world.cluster.reconcile(world.cluster_connection(), fresh=True)
    assert result.verdict.ready and result.verdict.reason == "LoggedIn"
    assert result.next_run == CHECK_INTERVAL  # jitter 0.5: the middle of the spread
    assert world.queue.scheduled == {"ClusterVaultConnection//shared": CHECK_INTERVAL}
    assert len(world.logins) == 1 and not world.made, "a login of its own, no cached resolver"
    ready = world.ready(CLUSTER_VAULT_CONNECTIONS, None, "shared")
    assert ready["message"] == "logged in to https://vault.example:8200", "no user or password"
    world.now += CHECK_INTERVAL
    world.cluster.run_queued("/shared")  # the next check: by name alone, cluster-scoped
    assert len(world.logins) == 2
    assert [e["reason"] for e in world.kube.list(EVENTS)] == ["LoggedIn"], "once, not per check"


def test_an_outage_is_retried_with_backoff_never_later_than_the_next_check() -> None:
    world = World()
    world.down = True
    result = world.cluster.reconcile(world.cluster_connection(), fresh=True)
    assert result.verdict.reason == "VaultUnavailable"
    assert result.next_run is not None and result.next_run <= CHECK_INTERVAL
    for _ in range(12):
        world.cluster.run_queued("/shared")
    assert world.queue.scheduled["ClusterVaultConnection//shared"] <= CHECK_INTERVAL


def test_kubernetes_auth_is_checked_as_the_first_namespace_named_without_wildcards() -> None:
    world = World()
    world.kube.put(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": "shop"}})
    body = world.cluster_connection(auth={"kubernetes": {"role": "r"}})
    result = world.cluster.reconcile(body, fresh=True)
    assert result.verdict.ready, result.verdict.message
    assert "as namespace shop's ServiceAccount" in result.verdict.message
    requested = [c for c in world.kube.calls if c[2] == "serviceaccounts/token"]
    assert requested, "the login asked for the tenant's token"


def test_a_namespaced_connection_logs_in_as_its_own_namespace() -> None:
    world = World()
    world.kube.put(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": "shop"}})
    body = world.kube.put(VAULT_CONNECTIONS, {
        "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultConnection",
        "metadata": {"name": "v", "namespace": "shop"},
        "spec": {"address": "http://vault:8200", "auth": {"kubernetes": {"role": "r"}}}})  # fmt: skip
    result = world.own.reconcile(body, fresh=True)
    assert result.verdict.ready and "namespace shop" in result.verdict.message
    assert world.queue.scheduled == {"VaultConnection/shop/v": CHECK_INTERVAL}


def test_edits_that_change_nothing_the_login_uses_do_not_log_in_again() -> None:
    """A tenant's label edits, a resume: within MIN_SPACING of a good check of the same
    generation, no login (each one would spend an AppRole secret_id use)."""
    world = World()
    world.cluster.reconcile(world.cluster_connection(), fresh=True)
    assert len(world.logins) == 1
    for i in range(5):  # label edits: the same generation
        body = world.kube.find(CLUSTER_VAULT_CONNECTIONS, None, "shared")
        assert body is not None
        body["metadata"].setdefault("labels", {})["edit"] = str(i)
        assert world.cluster.reconcile(
            world.kube.put(CLUSTER_VAULT_CONNECTIONS, body)
        ).verdict.ready
    assert len(world.logins) == 1
    world.now += MIN_SPACING
    world.cluster.reconcile(world.kube.find(CLUSTER_VAULT_CONNECTIONS, None, "shared") or {})
    assert len(world.logins) == 2, "checked again once the spacing is over"
    changed = world.cluster_connection(timeout="5s")  # a spec change: a new generation
    changed["metadata"]["generation"] = 2
    world.cluster.reconcile(world.kube.put(CLUSTER_VAULT_CONNECTIONS, changed))
    assert len(world.logins) == 3, "a changed spec is checked at once"
