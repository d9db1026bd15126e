"""kstatus (tests/kstatus.py) over live objects: the real controller, the emulator, a real OpenBao.

What a Flux ``wait``/``healthChecks`` gate or kpt would read, for all four kinds, on the path a
user meets: created before the controller runs (InProgress: the CRDs' defaulted
observedGeneration), then Current once the Secret is right (a connection: once it logs in); a
failure only a change ends (a refused login, a missing path, a key that opens nothing) is
Failed; an outage is InProgress with Reconciling=True while it is retried; recovered, Current
again. Every credential and value is registered, and the ``env`` fixture's teardown searches the
logs, Events and statuses (the connections' too) for them and for anything token-shaped.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest

from controller.keyring import key_secret
from sealer.api import SEALED_SECRETS, SECRETS
from sealer.keys import generate_keypair
from sealer.kube import ResourceRef
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests import kstatus
from tests.integration.vaultsecrets.conftest import (
    CLUSTER_VAULT_CONNECTIONS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
    Env,
    StartController,
    wait_for,
)

pytestmark = pytest.mark.integration

NS = "flux-gate"


def read(env: Env, ref: ResourceRef, namespace: str | None, name: str) -> dict[str, Any]:
    return dict(env.kube.get(ref, namespace, name))


def wait_status(
    env: Env, ref: ResourceRef, namespace: str | None, name: str, want: str, timeout: float = 30
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body = read(env, ref, namespace, name)
        return body if kstatus.compute(body) == want else None

    try:
        return dict(wait_for(reached, timeout=timeout, what=f"{ref.plural} {name} kstatus {want}"))
    except AssertionError:
        status = read(env, ref, namespace, name).get("status")
        raise AssertionError(f"{ref.plural} {name}: not {want}: {status}") from None


def condition(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in body["status"]["conditions"] if c["type"] == kind)


def test_fresh_to_current_and_failures_for_all_four_kinds(
    fresh_env: Env, start_controller: StartController
) -> None:
    env = fresh_env
    value = f"v-{secrets.token_hex(8)}"
    secret_id = secrets.token_hex(16)

    def seed() -> str:
        env.put("secret/gate/app", {"v": value})
        env.bao.policy("gate", "secret/data/gate/*")
        role_id, _ = env.bao.approle("gate", "gate", secret_id=secret_id, token_ttl="1h")
        return role_id

    role_id = seed()
    env.connection(NS, "vault", env.approle_auth(NS, role_id, secret_id))
    env.connection(None, "shared", env.approle_auth("sealops-system", role_id, secret_id),
                   allowed=[NS])  # fmt: skip
    env.vault_secret(NS, "app", refresh="2s", data=[{"key": "v", "ref": "secret/gate/app#v"}])
    pair = generate_keypair(now=dt.datetime.now(dt.UTC), key_size=2048)
    env.kube.create(SECRETS, "sealops-system",
                    key_secret(pair, name="gate-key", namespace="sealops-system"))  # fmt: skip
    sealed_value = f"s-{secrets.token_hex(8)}".encode()
    env.plaintexts.append(sealed_value)
    doc = seal_secret(PlainSecret(name="db", namespace=NS, data={"p": sealed_value}),
                      [pair.recipient])  # fmt: skip
    env.cluster.apply_sealed(doc)
    objects = [
        (VAULT_CONNECTIONS, NS, "vault"),
        (CLUSTER_VAULT_CONNECTIONS, None, "shared"),
        (VAULT_SECRETS, NS, "app"),
        (SEALED_SECRETS, NS, "db"),
    ]
    # Fresh: nothing has seen them yet; a gate must hold.
    for ref, namespace, name in objects:
        body = read(env, ref, namespace, name)
        assert body["status"] == {"observedGeneration": 0}, "the CRD's default, as served"
        assert kstatus.compute(body) == "InProgress", ref.plural

    start_controller()
    for ref, namespace, name in objects:
        body = wait_status(env, ref, namespace, name, "Current")
        assert condition(body, "Stalled")["status"] == "False"
        assert condition(body, "Reconciling")["status"] == "False"
    assert env.data(NS, "app") == {"v": value}, "Current: the Secret is right"
    sealed_secret = env.secret(NS, "db")
    assert sealed_secret is not None and sealed_secret["data"]["p"]
    assert (
        "logged in to" in condition(read(env, VAULT_CONNECTIONS, NS, "vault"), "Ready")["message"]
    )

    # Failures only a change ends: Failed.
    planted = f"planted-{secrets.token_hex(12)}"
    env.connection(NS, "wrong", env.token_auth(NS, planted, name="wrong-token"))
    refused = wait_status(env, VAULT_CONNECTIONS, NS, "wrong", "Failed")
    assert condition(refused, "Ready")["reason"] == "Forbidden"
    assert planted not in str(refused)
    env.vault_secret(NS, "missing", data=[{"key": "v", "ref": "secret/gate/nope#v"}])
    assert condition(wait_status(env, VAULT_SECRETS, NS, "missing", "Failed"), "Ready")["reason"] == "NotFound"  # fmt: skip
    other = generate_keypair(now=dt.datetime.now(dt.UTC), key_size=2048)
    env.cluster.apply_sealed(seal_secret(PlainSecret(name="lost", namespace=NS, data={"p": b"x" * 8}),
                                         [other.recipient]))  # fmt: skip
    lost = wait_status(env, SEALED_SECRETS, NS, "lost", "Failed")
    assert condition(lost, "Ready")["reason"] == "DecryptFailed"

    # An outage: InProgress, Reconciling while retried; the Secret kept.
    env.bao.server.stop()
    down = wait_status(env, VAULT_SECRETS, NS, "app", "InProgress")
    assert condition(down, "Reconciling")["status"] == "True"
    assert condition(down, "Ready")["reason"] == "VaultUnavailable"
    assert env.data(NS, "app") == {"v": value}
    # An edit of the connection: generation ahead until seen, then checked (Vault is down).
    env.kube.patch(VAULT_CONNECTIONS, NS, "vault", {"spec": {"kvVersion": "2"}})
    checked = wait_status(env, VAULT_CONNECTIONS, NS, "vault", "InProgress")
    wait_for(
        lambda: (
            condition(read(env, VAULT_CONNECTIONS, NS, "vault"), "Ready")["reason"]
            == "VaultUnavailable"
        ),
        what="the edited connection checked during the outage",
    )
    assert checked["metadata"]["generation"] == 2

    # Recovered: Current again, with nothing touched but Vault.
    env.bao.server.start()
    seed()
    wait_status(env, VAULT_SECRETS, NS, "app", "Current", timeout=60)
    body = wait_status(env, VAULT_CONNECTIONS, NS, "vault", "Current", timeout=60)
    assert body["status"]["observedGeneration"] == 2
    assert {c["observedGeneration"] for c in body["status"]["conditions"]} == {2}
