"""Logins and connection scoping: AppRole, token, and a ClusterVaultConnection's allowedNamespaces.

Credentials live in Secrets the connection references: a VaultConnection's in its own namespace,
a ClusterVaultConnection's in the controller's (``sealops-system``).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.integration.vaultsecrets.conftest import Env, StartController, sample

pytestmark = pytest.mark.integration


def test_approle_token_and_cluster_connection_scoping(
    env: Env, start_controller: StartController
) -> None:
    tag = secrets.token_hex(3)
    base = f"secret/conn-{tag}"
    value = f"approle-{secrets.token_hex(8)}"
    shared = f"shared-{secrets.token_hex(8)}"
    env.put(f"{base}/app", {"v": value})
    env.put(f"{base}/shared", {"v": shared})
    env.bao.policy(f"conn-{tag}", f"secret/data/conn-{tag}/*")

    # AppRole: role id in the connection, secret id in a Secret of the connection's namespace.
    role_id, secret_id = env.bao.approle(f"conn-{tag}", f"conn-{tag}", token_ttl="1h")
    env.connection("approle-ns", "vault", env.approle_auth("approle-ns", role_id, secret_id))
    env.vault_secret("approle-ns", "app", data=[{"key": "v", "ref": f"{base}/app#v"}])

    # A ClusterVaultConnection with token auth; its token Secret is in the controller's namespace.
    token = env.bao.new_token(f"conn-{tag}")
    env.connection(
        None, f"shared-{tag}", env.token_auth("sealops-system", token, name=f"token-{tag}"),
        allowed=["team-*"],
    )  # fmt: skip
    ref: dict[str, Any] = {"data": [{"key": "v", "ref": f"{base}/shared#v"}]}
    for namespace in ("team-x", "outsider"):
        env.vault_secret(
            namespace, "shared", connection=f"shared-{tag}", kind="ClusterVaultConnection", **ref
        )
    # A VaultConnection of another namespace is invisible: only approle-ns has "vault".
    env.vault_secret("outsider", "borrowed", data=[{"key": "v", "ref": f"{base}/app#v"}])

    controller = start_controller()

    env.wait_ready("approle-ns", "app")
    assert env.data("approle-ns", "app") == {"v": value}
    env.wait_ready("team-x", "shared")
    assert env.data("team-x", "shared") == {"v": shared}

    refused = env.wait_ready("outsider", "shared", status="False", reason="Forbidden")
    assert "allowedNamespaces" in refused["message"]
    assert env.secret("outsider", "shared") is None
    borrowed = env.wait_ready("outsider", "borrowed", status="False", reason="InvalidSpec")
    assert "not found" in borrowed["message"]
    assert env.secret("outsider", "borrowed") is None
    assert sample(controller, "sealops_vault_requests_total", kind="login") >= 1  # the AppRole
