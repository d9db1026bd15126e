"""Kubernetes auth against a real OpenBao, whose TokenReview calls go to a loopback stub.

This proves the resolver's login path (JWT from a file, or from a callable standing in for the
controller's TokenRequest) and per-tenant policies. The end-to-end version against the shared
Kubernetes API emulator belongs to the controller's tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sealer.vault import Forbidden, LoginFailed, parse_ref, resolve_value
from sealer.vault.auth import KubernetesAuth
from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard
from tests.integration.vault.tokenreview import TokenReviewStub

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]
A_DB = parse_ref("secret/tenants/a/db#password")
B_DB = parse_ref("secret/tenants/b/db#password")


@dataclass(frozen=True)
class Cluster:
    stub: TokenReviewStub
    mount: str


@pytest.fixture(scope="module")
def cluster(openbao: Bao) -> Iterator[Cluster]:
    stub = TokenReviewStub()
    mount = f"k8s-{secrets.token_hex(3)}"  # the session's server is shared: a mount of our own
    admin = openbao.admin
    admin("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    # OpenBao wants a CA even for an http:// host; any certificate will do, it is never used.
    ca = (Path(__file__).parents[2] / "data" / "cert-2048.pem").read_text()
    admin(
        "POST",
        f"auth/{mount}/config",
        {"kubernetes_host": stub.address, "kubernetes_ca_cert": ca, "disable_local_ca_jwt": True},
    )
    for tenant in ("a", "b"):
        admin(
            "PUT",
            f"sys/policies/acl/tenant-{tenant}",
            {"policy": f'path "secret/data/tenants/{tenant}/*" {{ capabilities = ["read"] }}'},
        )
        admin(
            "POST",
            f"auth/{mount}/role/tenant-{tenant}",
            {
                "bound_service_account_names": ["app"],
                "bound_service_account_namespaces": [f"tenant-{tenant}"],
                "token_policies": [f"tenant-{tenant}"],
                "token_ttl": "1h",
            },
        )
        admin.kv_put(f"secret/tenants/{tenant}/db", {"password": f"{PLAINTEXT}-{tenant}"})
    yield Cluster(stub=stub, mount=mount)
    stub.close()


def _config(openbao: Bao, auth: KubernetesAuth) -> VaultConfig:
    return VaultConfig(address=openbao.address, auth=auth)


def test_jwt_file_reads_its_own_tenant_only(
    openbao: Bao, cluster: Cluster, resolvers: Make, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    jwt = cluster.stub.issue("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    token_file = tmp_path / "token"
    token_file.write_text(jwt + "\n")
    auth = KubernetesAuth(role="tenant-a", mount_path=cluster.mount, jwt_file=token_file)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, B_DB))
    assert "permission denied reading Vault secret 'secret/tenants/b/db'" in str(error)
    assert resolver.counter.snapshot()["login"] == 1
    assert cluster.stub.reviews >= 1  # OpenBao really asked "Kubernetes"


def test_jwt_source_is_asked_at_each_login(
    openbao: Bao, cluster: Cluster, resolvers: Make, leak_guard: LeakGuard
) -> None:
    issued: list[str] = []

    def token_request() -> str:  # what the controller backs with a TokenRequest
        issued.append(cluster.stub.issue("tenant-b", "app"))
        leak_guard.credentials.add(issued[-1])
        return issued[-1]

    auth = KubernetesAuth(role="tenant-b", mount_path=cluster.mount, jwt_source=token_request)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, B_DB) == f"{PLAINTEXT}-b"
    openbao.admin("PUT", f"sys/leases/revoke-prefix/auth/{cluster.mount}/login")
    assert resolve_value(resolver, B_DB) == f"{PLAINTEXT}-b"  # dead token: log in again
    assert len(issued) == 2 == resolver.counter.snapshot()["login"]


def test_service_account_of_another_namespace_is_refused(
    openbao: Bao, cluster: Cluster, resolvers: Make, leak_guard: LeakGuard
) -> None:
    jwt = cluster.stub.issue("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    auth = KubernetesAuth(role="tenant-b", mount_path=cluster.mount, jwt_source=lambda: jwt)
    resolver = resolvers(_config(openbao, auth))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, B_DB))
    assert f"Vault refused the login (kubernetes role 'tenant-b' at auth/{cluster.mount})" in str(
        error
    )


def test_token_review_says_no(
    openbao: Bao, cluster: Cluster, resolvers: Make, leak_guard: LeakGuard
) -> None:
    jwt = cluster.stub.issue("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    cluster.stub.revoke(jwt)
    auth = KubernetesAuth(role="tenant-a", mount_path=cluster.mount, jwt_source=lambda: jwt)
    resolver = resolvers(_config(openbao, auth))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, A_DB))
    assert error.reason == "Forbidden"


def test_jwt_file_is_read_again_at_each_login(
    openbao: Bao, cluster: Cluster, resolvers: Make, leak_guard: LeakGuard, tmp_path: Path
) -> None:
    first, second = cluster.stub.issue("tenant-a", "app"), cluster.stub.issue("tenant-a", "app")
    leak_guard.credentials |= {first, second}
    token_file = tmp_path / "token"
    token_file.write_text(first)
    auth = KubernetesAuth(role="tenant-a", mount_path=cluster.mount, jwt_file=token_file)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    # The kubelet rotates the projected token; the old one stops passing TokenReview.
    token_file.write_text(second)
    cluster.stub.revoke(first)
    openbao.admin("PUT", f"sys/leases/revoke-prefix/auth/{cluster.mount}/login")
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    assert resolver.counter.snapshot()["login"] == 2
