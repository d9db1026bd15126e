"""Kubernetes auth for real: OpenBao's ``auth/kubernetes`` reviews tokens with the emulator.

OpenBao is configured with ``kubernetes_host`` = the emulator, roles bound to a ServiceAccount
per tenant namespace, and a policy per tenant. The controller asks the emulator for a token of
the VaultSecret's own namespace's ServiceAccount (TokenRequest) and logs in with it; OpenBao
sends that token to the emulator's TokenReview. So tenant A reads A's secrets, is refused B's
(Ready=False ``Forbidden``), cannot borrow B's role, and B's data never lands in A's namespace.
"""

from __future__ import annotations

import base64
import secrets

import pytest

from sealer.api import SECRETS
from tests.integration.vaultsecrets.conftest import ANY_CA, Env, StartController

pytestmark = pytest.mark.integration

SA = "vault-reader"


def test_each_tenant_logs_in_as_its_own_service_account(
    env: Env, start_controller: StartController
) -> None:
    tag = secrets.token_hex(3)
    mount = f"k8s-{tag}"  # the session's server is shared: an auth mount of our own
    admin = env.bao.admin
    admin("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    admin(
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": env.cluster.kubeapi.url,
            "kubernetes_ca_cert": ANY_CA,  # required, never used over http
            "disable_local_ca_jwt": True,
        },
    )
    values = {}
    for tenant in ("a", "b"):
        namespace = f"tenant-{tenant}"
        env.bao.policy(f"{mount}-{tenant}", f"secret/data/{mount}/tenant-{tenant}/*")
        admin(
            "POST",
            f"auth/{mount}/role/tenant-{tenant}",
            {
                "bound_service_account_names": [SA],
                "bound_service_account_namespaces": [namespace],
                "audience": "vault",
                "token_policies": [f"{mount}-{tenant}"],
                "token_ttl": "1h",
            },
        )
        values[tenant] = f"{tenant}-{secrets.token_hex(8)}"
        env.put(f"secret/{mount}/tenant-{tenant}/db", {"password": values[tenant]})
        env.service_account(namespace, SA)
        auth = {"kubernetes": {"role": f"tenant-{tenant}", "mountPath": mount,
                               "serviceAccountName": SA}}  # fmt: skip
        env.connection(namespace, "vault", auth)
        env.vault_secret(
            namespace,
            "own",
            data=[{"key": "password", "ref": f"secret/{mount}/tenant-{tenant}/db#password"}],
        )
    # Tenant A points at B's path, and (through a connection of its own) at B's role.
    env.vault_secret(
        "tenant-a",
        "steal",
        data=[{"key": "password", "ref": f"secret/{mount}/tenant-b/db#password"}],
    )
    env.vault_secret("tenant-a", "steal-all", dataFrom=[{"ref": f"secret/{mount}/tenant-b/db"}])
    env.connection("tenant-a", "borrowed-role", {"kubernetes": {
        "role": "tenant-b", "mountPath": mount, "serviceAccountName": SA}})  # fmt: skip
    env.vault_secret(
        "tenant-a",
        "borrow",
        connection="borrowed-role",
        data=[{"key": "password", "ref": f"secret/{mount}/tenant-b/db#password"}],
    )

    controller = start_controller()

    env.wait_ready("tenant-a", "own")
    env.wait_ready("tenant-b", "own")
    assert env.data("tenant-a", "own") == {"password": values["a"]}
    assert env.data("tenant-b", "own") == {"password": values["b"]}
    for name in ("steal", "steal-all", "borrow"):
        condition = env.wait_ready("tenant-a", name, status="False", reason="Forbidden")
        assert env.secret("tenant-a", name) is None, condition
    borrow = env.ready("tenant-a", "borrow")
    assert borrow is not None and "refused the login" in borrow["message"], borrow

    for tenant in ("a", "b"):  # both logged in through auth/kubernetes (so through TokenReview)
        assert f"logged in to Vault (kubernetes role 'tenant-{tenant}'" in controller.logs()

    # B's value appears in no Secret of A's namespace, under any name or key.
    leaked = [
        (s["metadata"]["name"], key)
        for s in env.kube.list(SECRETS, "tenant-a")
        for key, raw in (s.get("data") or {}).items()
        if values["b"].encode() in base64.b64decode(raw)
    ]
    assert not leaked, leaked
