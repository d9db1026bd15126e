"""Findings of the adversarial review of the issue-10 fixes, against the real controller.

A ClusterVaultConnection is the cluster admin's: its token (or AppRole) is shared by every
namespace it allows. With ``kvVersion`` pinned, the controller skips the mount lookup (which
would have said "not a KV engine") and reads ``<mount>/<path>`` as given, the first segment as
the mount: a tenant's ``ref: auth/token/lookup-self#id`` is a plain GET of Vault's own token
endpoint, which every token's default policy may read, and its ``id`` is the shared token
itself, written into the tenant's Secret. ``sys/``, ``cubbyhole/`` and ``identity/`` paths
answer the same way. Vault reserves those first segments for itself (no KV engine can be
mounted there), so a reference starting with one names no KV secret.
"""

from __future__ import annotations

import base64
import functools
import secrets
from typing import Any

import pytest

from sealer.vault import TokenAuth, VaultConfig, parse_ref, resolve_value
from sealer.vault.errors import VaultError
from sealer.vault.hvac_backend import HvacResolver
from tests.integration.security.conftest import Cluster, Env, StartController, wait_for

pytestmark = pytest.mark.integration

TENANT, CONTROLLER_NS = "tenant-a", "sealops-system"


def _condition(env: Env, name: str) -> dict[str, Any] | None:
    return env.ready(TENANT, name)


def _values(env: Env, name: str) -> list[str]:
    secret = env.secret(TENANT, name) or {}
    return [
        base64.b64decode(v).decode(errors="replace") for v in (secret.get("data") or {}).values()
    ]


#: (id, the tenant's VaultSecret spec, why it must be refused)
VAULT_OWN_PATHS: list[tuple[str, dict[str, Any], str]] = [
    ("lookup-self-id", {"data": [{"key": "t", "ref": "auth/token/lookup-self#id"}]},
     "the shared token itself, through the default policy's auth/token/lookup-self"),
    ("lookup-self-whole", {"dataFrom": [{"ref": "auth/token/lookup-self"}]},
     "the same, every field (id, accessor, policies)"),
    ("resultant-acl", {"dataFrom": [{"ref": "sys/internal/ui/resultant-acl"}]},
     "the shared token's whole ACL, also in the default policy"),
]  # fmt: skip


def test_a_tenant_cannot_read_vaults_own_endpoints_through_a_pinned_cluster_connection(
    env: Env, cluster: Cluster, start_controller: StartController
) -> None:
    """Before the fix each of these was Ready=True, and the first two wrote the shared token
    into the tenant's Secret (the mount lookup, skipped when pinned, would have refused them)."""
    tag = secrets.token_hex(3)
    mount = f"kv1-{tag}"
    env.bao.admin.mount_kv(mount, kv_version=1)
    env.put(f"{mount}/shared/db", {"password": f"shared-{secrets.token_hex(8)}"}, kv_version=1)
    env.bao.policy(f"shared-{tag}", f"{mount}/shared/*")
    shared_token = env.bao.new_token(f"shared-{tag}")
    env.connection(
        None, f"shared-{tag}",
        env.token_auth(CONTROLLER_NS, shared_token, name=f"shared-{tag}"),
        allowed=[TENANT], kv_version="1",
    )  # fmt: skip
    env.namespace(TENANT)
    start_controller()
    # The connection works for what it is for.
    env.vault_secret(
        TENANT, "good", connection=f"shared-{tag}", kind="ClusterVaultConnection",
        data=[{"key": "password", "ref": f"{mount}/shared/db#password"}],
    )  # fmt: skip
    env.wait_ready(TENANT, "good", timeout=30)
    for index, (_, spec, _) in enumerate(VAULT_OWN_PATHS):
        env.vault_secret(
            TENANT, f"own-{index}", connection=f"shared-{tag}", kind="ClusterVaultConnection",
            **spec,
        )  # fmt: skip
    problems = []
    for index, (case, _, why) in enumerate(VAULT_OWN_PATHS):
        condition = wait_for(
            functools.partial(_condition, env, f"own-{index}"),
            timeout=30,
            what=f"VaultSecret own-{index} has a Ready condition",
        )
        stolen = [v for v in _values(env, f"own-{index}") if shared_token in v]
        if condition["status"] != "False" or stolen:
            problems.append(
                f"{case}: Ready={condition['status']}, token in Secret: {bool(stolen)} ({why})"
            )
        elif "spec." not in condition["message"]:
            problems.append(f"{case}: the refusal names no field: {condition['message']}")
    assert problems == []


def test_vaults_own_endpoints_stay_out_of_reach_inside_a_vault_namespace(env: Env) -> None:
    """The first-segment refusal does not see Vault namespaces: with kvVersion pinned to 1 the
    path is the API path, and ``<namespace>/auth/token/lookup-self`` is the token endpoint
    inside a child namespace, which a parent namespace's token may read. Before the fix the
    token came back as the value; now the mount table is asked first, and refuses."""
    namespace = f"ns{secrets.token_hex(3)}"
    env.bao.admin("POST", f"sys/namespaces/{namespace}")
    mount = f"kvp-{namespace}"
    env.bao.admin.mount_kv(mount, kv_version=1)
    env.put(f"{mount}/auth/db", {"k": f"legit-{secrets.token_hex(6)}"}, kv_version=1)
    env.bao.policy(f"pin-{namespace}", f"{mount}/*")
    token = env.bao.new_token(f"pin-{namespace}")
    resolver = HvacResolver(
        VaultConfig(address=env.bao.address, auth=TokenAuth(token), kv_version=1)
    )
    try:
        got = None
        with pytest.raises(VaultError):
            got = resolve_value(resolver, parse_ref(f"{namespace}/auth/token/lookup-self#id"))
        assert got != token
        # A KV folder that happens to be named like a reserved segment still reads (the mount
        # table says it is on a KV mount).
        assert resolve_value(resolver, parse_ref(f"{mount}/auth/db#k")).startswith("legit-")
    finally:
        resolver.close()
