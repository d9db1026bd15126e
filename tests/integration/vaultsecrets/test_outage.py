"""An OpenBao outage while VaultSecrets exist: nothing is lost, and it all comes back by itself.

While the server is down the Secrets stay byte-for-byte as they were (same data, same
resourceVersion), each VaultSecret goes Ready=False ``VaultUnavailable`` with an Event. The dev
server keeps its storage in memory, so after the restart the test writes the data, the policy
and the AppRole (same ids) again; the controller's old token is then unknown to the server, so it
must log in again, and everything converges without restarting the controller.
"""

from __future__ import annotations

import secrets
from functools import partial

import pytest

from tests.integration.vaultsecrets.conftest import Env, StartController, wait_for

pytestmark = pytest.mark.integration

NS = "outage"


def _warned(env: Env, name: str) -> bool:
    return any(
        e.get("reason") == "VaultUnavailable" and e.get("type") == "Warning"
        for e in env.events(NS, name)
    )


def test_outage_keeps_secrets_and_recovers(
    fresh_env: Env, start_controller: StartController
) -> None:
    env = fresh_env
    secret_id = secrets.token_hex(16)
    before = {"a": f"a-{secrets.token_hex(8)}", "b": f"b-{secrets.token_hex(8)}"}

    def seed(data: dict[str, str]) -> tuple[str, str]:
        env.put("secret/outage/app", data)
        env.bao.policy("outage", "secret/data/outage/*")
        return env.bao.approle("outage", "outage", secret_id=secret_id, token_ttl="1h")

    role_id, _ = seed(before)
    env.connection(NS, "vault", env.approle_auth(NS, role_id, secret_id))
    env.vault_secret(NS, "one", refresh="2s", data=[{"key": "a", "ref": "secret/outage/app#a"}])
    env.vault_secret(NS, "all", refresh="2s", dataFrom=[{"ref": "secret/outage/app"}])
    start_controller()
    for name in ("one", "all"):
        env.wait_ready(NS, name)
    kept = {name: env.secret(NS, name) for name in ("one", "all")}
    assert env.data(NS, "all") == before

    env.bao.server.stop()
    for name in ("one", "all"):
        down = env.wait_ready(NS, name, status="False", reason="VaultUnavailable", timeout=20)
        assert env.bao.address in down["message"], down
        wait_for(partial(_warned, env, name), what=f"a VaultUnavailable Event for {name}")
        assert env.secret(NS, name) == kept[name], "a Secret changed during the outage"

    env.bao.server.start()
    after = {"a": before["a"], "b": f"b2-{secrets.token_hex(8)}"}  # b changed meanwhile
    seed(after)
    for name in ("one", "all"):
        env.wait_ready(NS, name, timeout=30)
    assert env.data(NS, "one") == {"a": after["a"]}
    assert env.secret(NS, "one") == kept["one"], "unchanged data must not be rewritten"
    wait_for(lambda: env.data(NS, "all") == after, what="the changed value after the outage")
