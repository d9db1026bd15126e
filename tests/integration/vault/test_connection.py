"""Connection settings against a real OpenBao: namespaces and a CA bundle (file or PEM text)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from sandbox.openbao import OpenBao
from sealer.vault import VaultUnavailable, parse_ref, resolve_value
from sealer.vault.auth import TokenAuth
from sealer.vault.config import VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from tests.harness import start_openbao
from tests.integration.vault.conftest import PLAINTEXT, Bao, LeakGuard

pytestmark = pytest.mark.integration

Make = Callable[..., HvacResolver]


def test_namespace(openbao: Bao, resolvers: Make) -> None:
    # OpenBao 2.3+ has namespaces, dev servers included.
    name = f"tenant-{secrets.token_hex(3)}"
    openbao.admin("POST", f"sys/namespaces/{name}")
    inside = openbao.admin.in_namespace(name)
    inside.mount_kv("secret", kv_version=2)
    inside.mount_kv("team/kv", kv_version=1)
    inside.kv_put("secret/app/db", {"password": f"{PLAINTEXT}-in-{name}"})
    inside.kv_put("team/kv/x", {"k": f"{PLAINTEXT}-ns-v1"}, mount="team/kv", kv_version=1)

    scoped = resolvers(openbao.config(namespace=name))
    assert resolve_value(scoped, parse_ref("secret/app/db#password")) == f"{PLAINTEXT}-in-{name}"
    # Same mount path as the root namespace's KV v2 mount, but KV v1 here: detection is per
    # namespace because each resolver has its own mount cache.
    assert resolve_value(scoped, parse_ref("team/kv/x#k")) == f"{PLAINTEXT}-ns-v1"
    root = resolvers(openbao.config())
    assert resolve_value(root, parse_ref("secret/app/db#password")) == f"{PLAINTEXT}-pw-3"


@pytest.fixture(scope="module")
def tls_openbao() -> Iterator[OpenBao]:
    server = start_openbao(tls=True)
    server.admin.kv_put("secret/tls", {"k": f"{PLAINTEXT}-over-tls"})
    yield server
    server.close()


def _tls_config(server: OpenBao, **kwargs: object) -> VaultConfig:
    return VaultConfig(address=server.address, auth=TokenAuth(server.root_token), **kwargs)  # type: ignore[arg-type]


def test_ca_bundle_file(tls_openbao: OpenBao, resolvers: Make) -> None:
    resolver = resolvers(_tls_config(tls_openbao, ca_file=tls_openbao.ca_file))
    assert resolve_value(resolver, parse_ref("secret/tls#k")) == f"{PLAINTEXT}-over-tls"


def test_ca_bundle_pem_text(tls_openbao: OpenBao, resolvers: Make) -> None:
    pem = tls_openbao.ca_file.read_text()
    resolver = resolvers(_tls_config(tls_openbao, ca_pem=pem))
    assert resolve_value(resolver, parse_ref("secret/tls#k")) == f"{PLAINTEXT}-over-tls"


def test_unknown_ca_is_refused(
    tls_openbao: OpenBao, resolvers: Make, leak_guard: LeakGuard
) -> None:
    leak_guard.credentials.add(tls_openbao.root_token)
    resolver = resolvers(_tls_config(tls_openbao))
    error = leak_guard.raises(
        VaultUnavailable, lambda: resolve_value(resolver, parse_ref("secret/tls#k"))
    )
    assert "TLS with Vault" in str(error) and "check the CA bundle" in str(error)
