"""The connection layer's lifecycle and its errors, through the reconciler as a user sees them.

- A ServiceAccount missing under Kubernetes auth is ``InvalidSpec`` (the user creates it or
  names another), retried so one created later is picked up; never ``NotFound``, which says a
  Vault path is missing. It is found missing by the TokenRequest that learns the API server's
  audiences (the first sync of a process) or by a login's TokenRequest (any later one).
- A resolver replaced by a newer version of its connection is closed, through the Resolver
  protocol (no duck typing).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from controller.connections import Connections, ServiceAccountMissing
from controller.reconcile import Result
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import SECRETS, SERVICE_ACCOUNTS, VAULT_CONNECTIONS, VAULT_SECRETS
from sealer.vault import KubernetesAuth, RequestCounter, SecretData, SecretLocation, VaultConfig
from tests.fakes.vault import FakeVault
from tests.unit.controller.conftest import Clock, Harness
from tests.unit.fakekube import FakeKube

NS = "shop"
FIELD = "spec.auth.kubernetes.serviceAccountName"


class LoggingIn:
    """A FakeVault behind a login: Kubernetes auth asks for the tenant's token at each read."""

    def __init__(self, vault: FakeVault, config: VaultConfig) -> None:
        self.vault, self.config = vault, config

    def read(self, location: SecretLocation) -> SecretData:
        auth = self.config.auth
        if isinstance(auth, KubernetesAuth) and auth.jwt_source is not None:
            auth.jwt_source()
        return self.vault.read(location)

    def forget(self, location: SecretLocation) -> None:
        self.vault.forget(location)

    def close(self) -> None:
        self.vault.close()


class World:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.harness = Harness(self.kube, Clock())
        self.vault = FakeVault()
        self.vault.mount("secret")
        self.vault.put("secret/shop/db", {"password": "pw"})
        self.made: list[FakeVault] = []
        self.connections = Connections(
            kube=self.kube, controller_namespace="sealops-system", factory=self._factory,
            counter=RequestCounter(),
        )  # fmt: skip
        self.reconciler = VaultSecretReconciler(
            kube=self.kube, connections=self.connections, writer=self.harness.writer,
            reporter=self.harness.reporter, metrics=self.harness.metrics,
            clock=self.harness.clock, jitter=lambda: 0.5,
        )  # fmt: skip
        self.service_account("default")

    def _factory(self, config: VaultConfig) -> LoggingIn:
        self.made.append(FakeVault())
        self.made[-1].mount("secret")
        self.made[-1].put("secret/shop/db", {"password": "pw"})
        return LoggingIn(self.made[-1], config)

    def service_account(self, name: str) -> None:
        self.kube.put(SERVICE_ACCOUNTS, {"metadata": {"name": name, "namespace": NS}})

    def connection(self, name: str, **auth: Any) -> None:
        self.kube.put(VAULT_CONNECTIONS, {"apiVersion": "sealops.dev/v1alpha1", "kind": "VaultConnection",
                                          "metadata": {"name": name, "namespace": NS},
                                          "spec": {"address": "http://vault:8200", "auth": auth}})  # fmt: skip

    def sync(self, connection: str, name: str = "app") -> Result:
        body = self.kube.put(VAULT_SECRETS, {
            "apiVersion": "sealops.dev/v1alpha1", "kind": "VaultSecret",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"connectionRef": {"kind": "VaultConnection", "name": connection},
                     "data": [{"key": "password", "ref": "secret/shop/db#password"}]}})  # fmt: skip
        return self.reconciler.reconcile(body)


def _learned_first(world: World) -> None:
    """Another VaultSecret synced first, through the default ServiceAccount: audiences known."""
    world.connection("default-sa", kubernetes={"role": "r"})
    assert world.sync("default-sa", name="other").verdict.ready


MISSING = [
    pytest.param(lambda world: None, id="first sync: the TokenRequest learning the audiences"),
    pytest.param(_learned_first, id="audiences already learned: the login's TokenRequest"),
]


@pytest.mark.parametrize("before", MISSING)
def test_a_missing_service_account_is_invalid_spec_and_retried(
    before: Callable[[World], None],
) -> None:
    world = World()
    before(world)
    world.connection("vault", kubernetes={"role": "r", "serviceAccountName": "app-sa"})
    result = world.sync("vault")
    verdict = result.verdict
    assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), verdict.message
    assert FIELD in verdict.message and "ServiceAccount shop/app-sa not found" in verdict.message
    assert "\n" not in verdict.message
    assert result.next_run is not None, "retried: the ServiceAccount may be created later"
    assert world.kube.find(SECRETS, NS, "app") is None
    # Created later: the retry picks it up, with no change to the VaultSecret.
    world.service_account("app-sa")
    assert world.sync("vault").verdict.ready


def test_the_missing_service_account_error_is_retryable_invalid_spec() -> None:
    error = ServiceAccountMissing("x", field=FIELD)
    assert (error.reason, error.retryable) == ("InvalidSpec", True)


def test_a_replaced_resolver_is_closed() -> None:
    world = World()
    world.kube.put(SECRETS, {"metadata": {"name": "t", "namespace": NS},
                             "data": {"token": base64.b64encode(b"tok").decode()}})  # fmt: skip
    world.connection("vault", token={"secretRef": {"name": "t", "key": "token"}})
    assert world.sync("vault").verdict.ready
    (first,) = world.made
    world.connection("vault", token={"secretRef": {"name": "t", "key": "token"}})  # a new version
    assert world.sync("vault").verdict.ready
    assert len(world.made) == 2
    assert first.closed and not world.made[1].closed


def test_stopping_closes_every_resolver_and_the_next_sync_makes_a_new_one() -> None:
    world = World()
    world.kube.put(SECRETS, {"metadata": {"name": "t", "namespace": NS},
                             "data": {"token": base64.b64encode(b"tok").decode()}})  # fmt: skip
    world.connection("vault", token={"secretRef": {"name": "t", "key": "token"}})
    world.connection("other", token={"secretRef": {"name": "t", "key": "token"}})
    assert world.sync("vault").verdict.ready and world.sync("other", name="b").verdict.ready
    assert len(world.made) == 2
    world.connections.close()
    assert all(made.closed for made in world.made)
    assert world.sync("vault").verdict.ready
    assert len(world.made) == 3 and not world.made[2].closed, "nothing closed is used again"
