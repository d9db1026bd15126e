"""A short-lived token is renewed, then replaced by a new login, and no sync ever fails.

The AppRole grants tokens with ttl 3s and max_ttl 6s; VaultSecrets refresh every second. The
controller renews at about two thirds of the TTL until the max TTL caps it, then logs in again.
The proof: the controller's own request counter shows renewals and several logins, its sync
counter shows no error, and the Ready condition, sampled throughout, never goes False.

The keeper renews lazily, before a request, so the renewal window (two thirds of the TTL to its
end, 1 s here) must contain a request: hence a 3 s TTL with a 1 s refresh. With a 2 s TTL a
1 s refresh often finds the token already expired and logs in instead (no failure either).
"""

from __future__ import annotations

import secrets
import time

import pytest

from tests.integration.vaultsecrets.conftest import Env, StartController, sample

pytestmark = pytest.mark.integration

NS = "expiry"
WATCH = 12.5  # seconds: two max TTLs, two chances to see renew-then-login under load


def test_renewal_then_relogin_without_a_failed_sync(
    env: Env, start_controller: StartController
) -> None:
    tag = secrets.token_hex(3)
    value = f"v-{secrets.token_hex(8)}"
    env.put(f"secret/expiry-{tag}/app", {"v": value})
    env.bao.policy(f"expiry-{tag}", f"secret/data/expiry-{tag}/*")
    role_id, secret_id = env.bao.approle(
        f"expiry-{tag}", f"expiry-{tag}", token_ttl="3s", token_max_ttl="6s"
    )
    env.connection(NS, "vault", env.approle_auth(NS, role_id, secret_id))
    names = [f"app-{n}" for n in range(3)]
    for name in names:
        env.vault_secret(
            NS, name, refresh="1s", data=[{"key": "v", "ref": f"secret/expiry-{tag}/app#v"}]
        )
    controller = start_controller()
    for name in names:
        env.wait_ready(NS, name)

    deadline = time.monotonic() + WATCH
    seen = set()
    while time.monotonic() < deadline:
        for name in names:
            condition = env.ready(NS, name)
            assert condition is not None
            seen.add((condition["status"], condition.get("reason")))
        time.sleep(0.1)

    assert seen == {("True", "Synced")}, seen
    assert sample(controller, "sealops_vault_sync_total", result="error") == 0
    assert sample(controller, "sealops_vault_sync_total", result="success") >= 3 * WATCH * 0.7
    assert sample(controller, "sealops_vault_requests_total", kind="renew") >= 1
    assert sample(controller, "sealops_vault_requests_total", kind="login") >= 2
    # In that order: a login, a renewal, then (the max TTL reached) a new login.
    steps = [
        "login" if "logged in to Vault" in line else "renew"
        for line in controller.logs().splitlines()
        if "logged in to Vault" in line or "renewed the Vault token" in line
    ]
    assert steps[:1] == ["login"] and "renew" in steps, steps
    assert "login" in steps[steps.index("renew") :], steps
    for name in names:
        assert env.data(NS, name) == {"v": value}
