"""An OpenBao outage with both kinds present: every Secret kept byte-for-byte, both converge.

10 SealedSecrets and 4 VaultSecrets (refresh 2 s) are synced; then the OpenBao server stops.
While it is down: every Secret is exactly as before (the whole object: data, resourceVersion),
the VaultSecrets go Ready=False ``VaultUnavailable``, the SealedSecrets stay Ready and keep
working (a new one and an update converge: they need no Vault), and no Secret is deleted. After
the restart (the dev server lost its storage, so the data, policy and AppRole are written again)
both kinds converge with the same controller process, the changed Vault value included.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from sealer.api import SECRETS
from tests.integration.reliability.conftest import (
    DeletionWatch,
    Env,
    StartController,
    not_converged,
    replace_spec,
    sealed_batch,
    wait_for,
)
from tests.integration.vaultsecrets.conftest import VAULT_SECRETS

pytestmark = pytest.mark.integration

NS = "outage-mixed"
VAULT_NAMES = [f"vs-{i}" for i in range(4)]


def test_openbao_outage_with_sealed_and_vault_secrets(
    fresh_env: Env, start_controller: StartController
) -> None:
    env, cluster = fresh_env, fresh_env.cluster
    secret_id = secrets.token_hex(16)
    before = {f"f{i}": f"v{i}-{secrets.token_hex(8)}" for i in range(4)}

    def seed(data: dict[str, str]) -> str:
        env.put("secret/mixed/app", data)
        env.bao.policy("mixed", "secret/data/mixed/*")
        return env.bao.approle("mixed", "mixed", secret_id=secret_id, token_ttl="1h")[0]

    role_id = seed(before)
    env.connection(NS, "vault", env.approle_auth(NS, role_id, secret_id))
    for i, name in enumerate(VAULT_NAMES):
        env.vault_secret(
            NS, name, refresh="2s", data=[{"key": "v", "ref": f"secret/mixed/app#f{i}"}]
        )
    controller = start_controller("--resync-interval", "5s")
    cert = controller.get("/v1/cert.pem")
    docs, expected = sealed_batch(cert, NS, [f"ss-{i}" for i in range(10)], env.plaintexts)
    for doc in docs:
        cluster.apply_sealed(doc)
    for name in VAULT_NAMES:
        env.wait_ready(NS, name)
    wait_for(lambda: not not_converged(cluster, NS, expected), what="SealedSecrets converged")
    watch = DeletionWatch(cluster, NS)
    kept = {s["metadata"]["name"]: s for s in _secrets(env)}
    assert len(kept) == 14

    env.bao.server.stop()
    for name in VAULT_NAMES:
        down = env.wait_ready(NS, name, status="False", reason="VaultUnavailable", timeout=20)
        assert env.bao.address in down["message"], down
    # Meanwhile SealedSecrets keep working: one new, one updated.
    new, new_expected = sealed_batch(cert, NS, ["ss-new", "ss-0"], env.plaintexts)
    cluster.apply_sealed(new[0])
    replace_spec(cluster, NS, "ss-0", new[1]["spec"])
    expected.update(new_expected)
    wait_for(
        lambda: not not_converged(cluster, NS, expected), what="SealedSecrets during the outage"
    )
    now = {s["metadata"]["name"]: s for s in _secrets(env)}
    for name in VAULT_NAMES + [f"ss-{i}" for i in range(1, 10)]:
        assert now[name] == kept[name], f"Secret {name} changed during the outage"

    env.bao.server.start()
    after = {**before, "f1": f"v1b-{secrets.token_hex(8)}"}  # one value changed meanwhile
    seed(after)
    for name in VAULT_NAMES:
        env.wait_ready(NS, name, timeout=30)
    wait_for(lambda: env.data(NS, "vs-1") == {"v": after["f1"]}, what="the changed value")
    for i, name in enumerate(VAULT_NAMES):
        assert env.data(NS, name) == {"v": after[f"f{i}"]}
        if i != 1:
            assert env.secret(NS, name) == kept[name], "unchanged data must not be rewritten"
    assert not not_converged(cluster, NS, expected)
    assert controller.process.poll() is None
    assert watch.close() == [], "a Secret was deleted"
    assert len(env.kube.list(VAULT_SECRETS, NS)) == len(VAULT_NAMES)


def _secrets(env: Env) -> list[dict[str, Any]]:
    return list(env.kube.list(SECRETS, NS, label_selector="sealops.dev/managed-by=sealops"))
