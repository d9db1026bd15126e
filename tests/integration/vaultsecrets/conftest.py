"""The real controller process syncing VaultSecrets from a real OpenBao, through the emulator.

Combines the controller fixtures (``cluster``, ``start_controller``, ``plaintexts`` with its leak
scan of logs, Events and statuses) with OpenBao dev servers: ``bao`` is one server for the
session (tests use paths of their own under ``secret/<test>/``), ``fresh_bao`` one for a test
that stops it. :class:`Env` builds the resources: credential Secrets, (Cluster)VaultConnections,
VaultSecrets, and reads back conditions, Secrets and the controller's metrics.

Every value written to OpenBao and every credential is registered in ``plaintexts``; on top of
that, teardown searches the controller's logs, the Events and the statuses for anything shaped
like an OpenBao token or a JWT, so a token the controller got from a login (which the test never
sees) cannot leak unnoticed either, and for the base64 of every registered value (a Secret body
logged whole). Exceptions raised in the controller reach only its log, which is searched.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.openbao import OpenBao
from sealer.api import (
    CLUSTER_VAULT_CONNECTIONS,
    DEPLOYMENTS,
    EVENTS,
    SECRETS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.kube import KubeNotFound, ResourceRef
from tests.harness import SERVICE_ACCOUNTS, Bao, start_openbao
from tests.integration.controller.conftest import (
    Cluster,
    Controller,
    StartController,
    cluster,
    plaintexts,
    start_controller,
    wait_for,
)

__all__ = [
    "CLUSTER_VAULT_CONNECTIONS",
    "DEPLOYMENTS",
    "SERVICE_ACCOUNTS",
    "VAULT_CONNECTIONS",
    "VAULT_SECRETS",
    "Bao",
    "Env",
    "StartController",
    "cluster",
    "plaintexts",
    "sample",
    "scan_credentials",
    "start_controller",
    "wait_for",
]

#: OpenBao service/batch tokens, and compact JWS (ServiceAccount tokens).
TOKEN_SHAPES = re.compile(r"\b[sb]\.[A-Za-z0-9]{24}\b|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]+")
ANY_CA = (Path(__file__).parents[2] / "data" / "cert-2048.pem").read_text()


@pytest.fixture(scope="session")
def bao_server() -> Iterator[OpenBao]:
    server = start_openbao()
    yield server
    server.close()


@pytest.fixture
def bao(bao_server: OpenBao) -> Bao:
    return Bao(bao_server)


@pytest.fixture
def fresh_bao() -> Iterator[Bao]:
    """A server of this test's own, to stop and start again."""
    bao = Bao.start()
    yield bao
    bao.close()


@dataclass
class Env:
    cluster: Cluster
    bao: Bao
    plaintexts: list[bytes]

    @property
    def kube(self) -> Any:
        return self.cluster.kube

    # -- Vault side --------------------------------------------------------------------------

    def put(self, path: str, data: dict[str, str], *, kv_version: int = 2) -> None:
        """Write a secret (registering its values as plaintexts)."""
        self.plaintexts.extend(v.encode() for v in data.values())
        self.bao.admin.kv_put(path, data, kv_version=kv_version)

    # -- Kubernetes side ---------------------------------------------------------------------

    def namespace(self, name: str) -> str:
        self.cluster.namespace(name)
        return name

    def credential(self, namespace: str, name: str, value: str) -> dict[str, str]:
        """A Secret holding ``value`` under key ``value``; returns its secretRef."""
        self.plaintexts.append(value.encode())
        self.namespace(namespace)
        self.kube.create(
            SECRETS,
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "data": {"value": base64.b64encode(value.encode()).decode()},
            },
        )
        return {"name": name, "key": "value"}

    def token_auth(self, namespace: str, token: str, *, name: str = "vault-token") -> Any:
        return {"token": {"secretRef": self.credential(namespace, name, token)}}

    def approle_auth(
        self, namespace: str, role_id: str, secret_id: str, *, name: str = "vault-approle"
    ) -> Any:
        return {
            "appRole": {"roleId": role_id, "secretRef": self.credential(namespace, name, secret_id)}
        }

    def connection(
        self,
        namespace: str | None,
        name: str,
        auth: Any,
        *,
        allowed: list[str] | None = None,
        kv_version: str | None = None,
    ) -> None:
        """A VaultConnection in ``namespace``, or (``namespace=None``) a ClusterVaultConnection."""
        spec: dict[str, Any] = {"address": self.bao.address, "auth": auth}
        if kv_version is not None:
            spec["kvVersion"] = kv_version
        kind = "VaultConnection" if namespace else "ClusterVaultConnection"
        if namespace is None:
            spec["allowedNamespaces"] = allowed or []
        else:
            self.namespace(namespace)
        body = {
            "apiVersion": "sealops.dev/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, **({"namespace": namespace} if namespace else {})},
            "spec": spec,
        }
        ref = VAULT_CONNECTIONS if namespace else CLUSTER_VAULT_CONNECTIONS
        self.kube.create(ref, namespace, body)

    def vault_secret(
        self,
        namespace: str,
        name: str,
        *,
        connection: str = "vault",
        kind: str = "VaultConnection",
        refresh: str = "1h",
        **spec: Any,
    ) -> dict[str, Any]:
        self.namespace(namespace)
        body = {
            "apiVersion": "sealops.dev/v1alpha1",
            "kind": "VaultSecret",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "connectionRef": {"kind": kind, "name": connection},
                "refreshInterval": refresh,
                **spec,
            },
        }
        return dict(self.kube.create(VAULT_SECRETS, namespace, body))

    def ready(self, namespace: str, name: str) -> dict[str, Any] | None:
        body = self.kube.get(VAULT_SECRETS, namespace, name)
        for condition in (body.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                return dict(condition)
        return None

    def wait_ready(
        self,
        namespace: str,
        name: str,
        *,
        status: str = "True",
        reason: str | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        def matches() -> dict[str, Any] | None:
            found = self.ready(namespace, name)
            if found and found["status"] == status and reason in (None, found.get("reason")):
                return found
            return None

        return dict(
            wait_for(
                matches,
                timeout=timeout,
                what=f"VaultSecret {namespace}/{name} Ready={status} {reason or ''}",
            )
        )

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cluster.secret(namespace, name)

    def data(self, namespace: str, name: str) -> dict[str, str] | None:
        secret = self.secret(namespace, name)
        if secret is None:
            return None
        return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.kube.list(EVENTS, namespace)
            if (e.get("involvedObject") or e.get("regarding") or {}).get("name") == name
        ]

    def service_account(self, namespace: str, name: str) -> None:
        self.cluster.service_account(namespace, name)

    def exists(self, ref: ResourceRef, namespace: str, name: str) -> bool:
        try:
            self.kube.get(ref, namespace, name)
        except KubeNotFound:
            return False
        return True


def sample(controller: Controller, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return controller.metric(name, **labels)


@pytest.fixture
def env(cluster: Cluster, bao: Bao, plaintexts: list[bytes]) -> Iterator[Env]:
    result = Env(cluster, bao, plaintexts)
    yield result
    scan_credentials(result, bao)


@pytest.fixture
def fresh_env(cluster: Cluster, fresh_bao: Bao, plaintexts: list[bytes]) -> Iterator[Env]:
    result = Env(cluster, fresh_bao, plaintexts)
    yield result
    scan_credentials(result, fresh_bao)


def scan_credentials(env: Env, bao: Bao) -> None:
    """No credential we made, and nothing token-shaped, in logs, Events or statuses."""
    env.plaintexts.extend(c.encode() for c in bao.credentials)
    haystacks = [
        p.read_text(errors="replace")
        for p in env.cluster.kubeconfig.parent.glob("controller-*.log")
    ]
    haystacks += [json.dumps(e) for e in env.kube.list(EVENTS)]
    for ref in (VAULT_SECRETS, VAULT_CONNECTIONS, CLUSTER_VAULT_CONNECTIONS):
        haystacks += [json.dumps(b.get("status") or {}) for b in env.kube.list(ref)]
    shaped = sorted({m[:6] + "…" for text in haystacks for m in TOKEN_SHAPES.findall(text)})
    assert not shaped, f"token-shaped strings in logs, Events or statuses: {shaped}"
    # A Secret body logged or posted whole would show its values base64-encoded.
    encoded = [base64.b64encode(v).decode() for v in env.plaintexts if len(v) >= 6]
    found = sorted({e[:6] + "…" for e in encoded for text in haystacks if e in text})
    assert not found, f"base64 of a registered value in logs, Events or statuses: {found}"
