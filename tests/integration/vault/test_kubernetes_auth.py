"""Kubernetes auth against a real OpenBao, whose TokenReview calls go to the API emulator.

This proves the resolver's login path (JWT from a file, or from a callable standing in for the
controller's TokenRequest) and per-tenant policies. The tokens are the emulator's own
ServiceAccount tokens (TokenRequest); OpenBao checks each login with a TokenReview there. The
end-to-end version, the controller's own TokenRequest included, belongs to the VaultSecret tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from sealer.vault import Forbidden, LoginFailed, parse_ref, resolve_value
from sealer.vault.auth import KubernetesAuth
from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.harness import Cluster
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]
A_DB = parse_ref("secret/tenants/a/db#password")
B_DB = parse_ref("secret/tenants/b/db#password")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with RunningKubeApi() as kubeapi:
        kubeconfig = tmp_path_factory.mktemp("kubeapi") / "kubeconfig"
        yield Cluster.start(kubeapi, kubeconfig, namespaces=("tenant-a", "tenant-b"))


@pytest.fixture(scope="module")
def mount(openbao: Bao, cluster: Cluster) -> str:
    """A Kubernetes auth mount of this module's own (the session's server is shared)."""
    mount = f"k8s-{secrets.token_hex(3)}"
    admin = openbao.admin
    admin("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    # OpenBao wants a CA even for an http:// host; any certificate will do, it is never used.
    ca = (Path(__file__).parents[2] / "data" / "cert-2048.pem").read_text()
    admin(
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": cluster.kubeapi.url,
            "kubernetes_ca_cert": ca,
            "disable_local_ca_jwt": True,
        },
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
    return mount


def _config(openbao: Bao, auth: KubernetesAuth) -> VaultConfig:
    return VaultConfig(address=openbao.address, auth=auth)


def test_jwt_file_reads_its_own_tenant_only(
    openbao: Bao,
    cluster: Cluster,
    mount: str,
    resolvers: Make,
    leak_guard: LeakGuard,
    tmp_path: Path,
) -> None:
    jwt = cluster.token("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    token_file = tmp_path / "token"
    token_file.write_text(jwt + "\n")
    auth = KubernetesAuth(role="tenant-a", mount_path=mount, jwt_file=token_file)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    error = leak_guard.raises(Forbidden, lambda: resolve_value(resolver, B_DB))
    assert "permission denied reading Vault secret 'secret/tenants/b/db'" in str(error)
    assert resolver.counter.snapshot()["login"] == 1
    assert cluster.token_reviews >= 1  # OpenBao really asked "Kubernetes"


def test_jwt_source_is_asked_at_each_login(
    openbao: Bao, cluster: Cluster, mount: str, resolvers: Make, leak_guard: LeakGuard
) -> None:
    issued: list[str] = []

    def token_request() -> str:  # what the controller backs with a TokenRequest
        issued.append(cluster.token("tenant-b", "app"))
        leak_guard.credentials.add(issued[-1])
        return issued[-1]

    auth = KubernetesAuth(role="tenant-b", mount_path=mount, jwt_source=token_request)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, B_DB) == f"{PLAINTEXT}-b"
    openbao.admin("PUT", f"sys/leases/revoke-prefix/auth/{mount}/login")
    assert resolve_value(resolver, B_DB) == f"{PLAINTEXT}-b"  # dead token: log in again
    assert len(issued) == 2 == resolver.counter.snapshot()["login"]


def test_service_account_of_another_namespace_is_refused(
    openbao: Bao, cluster: Cluster, mount: str, resolvers: Make, leak_guard: LeakGuard
) -> None:
    jwt = cluster.token("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    auth = KubernetesAuth(role="tenant-b", mount_path=mount, jwt_source=lambda: jwt)
    resolver = resolvers(_config(openbao, auth))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, B_DB))
    assert f"Vault refused the login (kubernetes role 'tenant-b' at auth/{mount})" in str(error)


def test_token_review_says_no(
    openbao: Bao, cluster: Cluster, mount: str, resolvers: Make, leak_guard: LeakGuard
) -> None:
    jwt = cluster.token("tenant-a", "app")
    leak_guard.credentials.add(jwt)
    cluster.revoke_tokens("tenant-a", "app")
    auth = KubernetesAuth(role="tenant-a", mount_path=mount, jwt_source=lambda: jwt)
    resolver = resolvers(_config(openbao, auth))
    error = leak_guard.raises(LoginFailed, lambda: resolve_value(resolver, A_DB))
    assert error.reason == "Forbidden"


def test_jwt_file_is_read_again_at_each_login(
    openbao: Bao,
    cluster: Cluster,
    mount: str,
    resolvers: Make,
    leak_guard: LeakGuard,
    tmp_path: Path,
) -> None:
    first = cluster.token("tenant-a", "app")
    leak_guard.credentials.add(first)
    token_file = tmp_path / "token"
    token_file.write_text(first)
    auth = KubernetesAuth(role="tenant-a", mount_path=mount, jwt_file=token_file)
    resolver = resolvers(_config(openbao, auth))
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    # The kubelet rotates the projected token; the old one stops passing TokenReview.
    cluster.revoke_tokens("tenant-a", "app")
    second = cluster.token("tenant-a", "app")
    leak_guard.credentials.add(second)
    token_file.write_text(second)
    openbao.admin("PUT", f"sys/leases/revoke-prefix/auth/{mount}/login")
    assert resolve_value(resolver, A_DB) == f"{PLAINTEXT}-a"
    assert resolver.counter.snapshot()["login"] == 2
