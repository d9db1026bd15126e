"""A tenant with ``edit`` in its namespace against the real controller, the emulator and OpenBao.

The attacks of the "Cluster compromise" report, end to end: names in a tenant's VaultSecret or
VaultConnection that walk out of the namespace (``../``, ``%2e%2e``, ``/``) to plant a sealing
key, to send the controller's private key or a kube-system token to an address the tenant
chose, to use another team's connection, or to restart another team's workload; and the same
ends reached without a traversal (reserved template labels, a ClusterVaultConnection that does
not allow the namespace, the API server's audience).

Each test checks the controller's own refusal: Ready=False with ``InvalidSpec`` or ``Forbidden``
naming the user's field, nothing written or changed outside the tenant's namespace (every object
of the emulator compared before and after), and nothing sent to the tenant's address. The CRDs
also refuse such names with ``pattern``s at apply time; the ``patternless`` fixture loads copies
without them, so the objects reach the controller as they would under an older CRD or a direct
write to etcd, and what is tested is the controller's check, not the API server's.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sealer.api import (
    CLUSTER_VAULT_CONNECTIONS,
    CUSTOM_RESOURCE_DEFINITIONS,
    DEPLOYMENTS,
    LABEL_SEALING_KEY,
    NAMESPACES,
    SECRETS,
    SERVICE_ACCOUNTS,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.keys import generate_keypair, private_key_pem
from tests.integration.security.conftest import Cluster, Env, StartController

pytestmark = pytest.mark.integration

TENANT, OTHER, CONTROLLER_NS = "tenant-a", "team-b", "sealops-system"
#: What the emulator holds that a tenant's object could reach (Events aside: the controller
#: posts them in the tenant's namespace, which is not compared).
WATCHED = {
    "secrets": SECRETS,
    "serviceaccounts": SERVICE_ACCOUNTS,
    "deployments": DEPLOYMENTS,
    "vaultconnections": VAULT_CONNECTIONS,
    "clustervaultconnections": CLUSTER_VAULT_CONNECTIONS,
    "vaultsecrets": VAULT_SECRETS,
    "namespaces": NAMESPACES,
}


def _strip_patterns(schema: Any) -> None:
    """Drop string ``pattern``s (and CEL rules, should names be checked that way) in place."""
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str) and schema.get("type") == "string":
            del schema["pattern"]
        schema.pop("x-kubernetes-validations", None)
        for value in schema.values():
            _strip_patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_patterns(value)


@pytest.fixture
def patternless(cluster: Cluster) -> Cluster:
    """The sealops CRDs without their ``pattern``s (see the module doc): the controller's own
    refusal is what these tests prove."""
    for crd in cluster.kube.list(CUSTOM_RESOURCE_DEFINITIONS):
        if crd["spec"]["group"] == "sealops.dev":
            _strip_patterns(crd["spec"]["versions"])
            cluster.kube.replace(CUSTOM_RESOURCE_DEFINITIONS, None, crd["metadata"]["name"], crd)
    return cluster


class Listener:
    """An address the tenant chooses as its "Vault": records whatever reaches it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []  # method, path, body length
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                listener.requests.append((self.command, self.path, length))
                self.send_response(500)
                self.end_headers()

            do_GET = do_POST = do_PUT = do_LIST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def snapshot(cluster: Cluster) -> dict[tuple[str, str, str], str]:
    """Every watched object of the emulator: (plural, namespace, name) -> its content, but
    status and server bookkeeping (kopf may still be finishing a status write of team-b's)."""
    out = {}
    for plural, ref in WATCHED.items():
        for obj in cluster.kube.list(ref):
            meta = {
                k: v
                for k, v in obj["metadata"].items()
                if k not in ("resourceVersion", "managedFields", "generation")
            }
            body = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
            key = (plural, meta.get("namespace", ""), meta["name"])
            out[key] = json.dumps({"metadata": meta, **body}, sort_keys=True)
    return out


def changed_outside(before: dict[tuple[str, str, str], str], cluster: Cluster) -> list[Any]:
    """Objects outside the tenant's namespace that appeared, went or changed."""
    after = snapshot(cluster)
    return sorted(
        key
        for key in set(before) | set(after)
        if key[1] != TENANT and before.get(key) != after.get(key)
    )


def vault_connection(env: Env, name: str, address: str, auth: Any, **spec: Any) -> None:
    env.namespace(TENANT)
    body = {
        "apiVersion": "sealops.dev/v1alpha1",
        "kind": "VaultConnection",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {"address": address, "auth": auth, **spec},
    }
    env.kube.create(VAULT_CONNECTIONS, TENANT, body)


def refused(env: Env, name: str, reason: str, field: str) -> dict[str, Any]:
    condition = env.wait_ready(TENANT, name, status="False", reason=reason, timeout=30)
    assert f"{field}: " in condition["message"], condition["message"]
    return condition


def the_key_secret(cluster: Cluster) -> dict[str, Any]:
    (key,) = cluster.kube.list(SECRETS, CONTROLLER_NS, label_selector=LABEL_SEALING_KEY)
    return key


def test_planting_a_sealing_key_fails_and_cert_pem_serves_the_controllers_key(
    env: Env, patternless: Cluster, start_controller: StartController
) -> None:
    """The reported takeover: a VaultSecret whose target walks into sealops-system (Merge into
    the key Secret, or a new Secret there) with the sealing-key label and an attacker's key pair
    from Vault. Also the same without a traversal: the label or a data-hash annotation in the
    template, into the tenant's own namespace."""
    controller = start_controller()
    cert = controller.get("/v1/cert.pem")
    key_name = the_key_secret(patternless)["metadata"]["name"]
    attacker = generate_keypair(
        now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1), key_size=2048, name="attacker"
    )
    tag = secrets.token_hex(3)
    env.put(
        f"secret/plant-{tag}/key",
        {
            "tls.crt": attacker.certificate_pem().decode(),
            "tls.key": private_key_pem(attacker.private_key).decode(),
        },
    )
    env.bao.policy(f"plant-{tag}", f"secret/data/plant-{tag}/*")
    env.connection(TENANT, "vault", env.token_auth(TENANT, env.bao.new_token(f"plant-{tag}")))
    label = {"metadata": {"labels": {LABEL_SEALING_KEY: "active"}}}
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        # (id, target, reason, field named)
        ("merge-traversal-into-the-key",
         {"name": f"../../{CONTROLLER_NS}/secrets/{key_name}", "creationPolicy": "Merge",
          "template": label}, "InvalidSpec", "spec.target.name"),
        ("percent-encoded-traversal",
         {"name": f"%2e%2e%2f%2e%2e%2f{CONTROLLER_NS}%2fsecrets%2f{key_name}",
          "creationPolicy": "Merge", "template": label}, "InvalidSpec", "spec.target.name"),
        ("new-secret-there-by-traversal",
         {"name": f"../../{CONTROLLER_NS}/secrets/sealops-key-9", "type": "kubernetes.io/tls",
          "template": label}, "InvalidSpec", "spec.target.name"),
        ("the-label-in-its-own-namespace",
         {"name": "planted", "type": "kubernetes.io/tls", "template": label},
         "InvalidSpec", "spec.target.template.metadata.labels"),
        ("a-data-hash-annotation",
         {"name": "forged", "template": {"metadata": {"annotations": {
             "sealops.dev/data-hash": "hmac-sha256:x"}}}},
         "InvalidSpec", "spec.target.template.metadata.annotations"),
    ]  # fmt: skip
    before = snapshot(patternless)
    for index, (_, target, _, _) in enumerate(cases):
        env.vault_secret(
            TENANT, f"plant-{index}", dataFrom=[{"ref": f"secret/plant-{tag}/key"}], target=target
        )
    for index, (case, _, reason, field) in enumerate(cases):
        condition = refused(env, f"plant-{index}", reason, field)
        assert condition["message"], case
    assert env.secret(TENANT, "planted") is None and env.secret(TENANT, "forged") is None
    time.sleep(3)  # three key reloads (--key-sync-interval 1s)
    assert controller.get("/v1/cert.pem") == cert, "the controller serves another key"
    assert changed_outside(before, patternless) == []
    assert len(patternless.kube.list(SECRETS, CONTROLLER_NS, label_selector=LABEL_SEALING_KEY)) == 1


def test_credential_and_service_account_traversals_send_nothing(
    env: Env, patternless: Cluster, start_controller: StartController, listener: Listener
) -> None:
    """A VaultConnection whose credential Secret or ServiceAccount walks to the controller's key
    Secret or to kube-system, with the tenant's own address as "Vault": refused where read, and
    not one request reaches the address (the private key never leaves). Also the API server's
    audience (the emulator's issuer), which would make a token the API accepts."""
    start_controller()
    key_name = the_key_secret(patternless)["metadata"]["name"]
    to_key = f"../../{CONTROLLER_NS}/secrets/{key_name}"
    env.service_account("kube-system", "admin")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("approle-secret-to-the-key",
         {"auth": {"appRole": {"roleId": "r", "secretRef": {"name": to_key, "key": "tls.key"}}}},
         "spec.auth.appRole.secretRef.name"),
        ("approle-percent-encoded",
         {"auth": {"appRole": {"roleId": "r", "secretRef": {
             "name": f"%2e%2e%2f%2e%2e%2f{CONTROLLER_NS}%2fsecrets%2f{key_name}", "key": "tls.key"}}}},
         "spec.auth.appRole.secretRef.name"),
        ("token-secret-to-the-key",
         {"auth": {"token": {"secretRef": {"name": to_key, "key": "tls.key"}}}},
         "spec.auth.token.secretRef.name"),
        ("ca-secret-to-the-key",
         {"caSecretRef": {"name": to_key, "key": "tls.key"},
          "auth": {"kubernetes": {"role": "r"}}}, "spec.caSecretRef.name"),
        ("service-account-in-kube-system",
         {"auth": {"kubernetes": {"role": "r",
                                  "serviceAccountName": "../../kube-system/serviceaccounts/admin"}}},
         "spec.auth.kubernetes.serviceAccountName"),
        ("service-account-with-a-slash",
         {"auth": {"kubernetes": {"role": "r", "serviceAccountName": "kube-system/admin"}}},
         "spec.auth.kubernetes.serviceAccountName"),
        ("the-api-servers-audience",
         {"auth": {"kubernetes": {"role": "r",
                                  "audience": "https://kubernetes.default.svc.cluster.local"}}},
         "spec.auth.kubernetes.audience"),
    ]  # fmt: skip
    env.service_account(TENANT, "default")
    before = snapshot(patternless)
    for index, (_, spec, _) in enumerate(cases):
        vault_connection(env, f"evil-{index}", listener.address, **spec)
        env.vault_secret(
            TENANT, f"steal-{index}", connection=f"evil-{index}",
            data=[{"key": "k", "ref": "secret/x#k"}],
        )  # fmt: skip
    for index, (case, _, field) in enumerate(cases):
        condition = refused(env, f"steal-{index}", "InvalidSpec", field)
        assert "PRIVATE KEY" not in condition["message"], case
    time.sleep(2)  # any retry would have gone out by now
    assert listener.requests == [], "something reached the tenant's address"
    assert changed_outside(before, patternless) == []


def test_another_teams_connection_is_out_of_reach(
    env: Env, patternless: Cluster, start_controller: StartController
) -> None:
    """``connectionRef.name`` walking to team-b's VaultConnection, and a ClusterVaultConnection
    that allows team-b only, refused for the tenant even once team-b's resolver is cached."""
    tag = secrets.token_hex(3)
    env.put(f"secret/team-b-{tag}/db", {"password": f"team-b-{secrets.token_hex(8)}"})
    env.bao.policy(f"team-b-{tag}", f"secret/data/team-b-{tag}/*")
    env.connection(OTHER, "vault", env.token_auth(OTHER, env.bao.new_token(f"team-b-{tag}")))
    shared_token = env.bao.new_token(f"team-b-{tag}")
    env.connection(
        None, f"shared-{tag}",
        env.token_auth(CONTROLLER_NS, shared_token, name=f"shared-{tag}"), allowed=[OTHER],
    )  # fmt: skip
    data = [{"key": "password", "ref": f"secret/team-b-{tag}/db#password"}]
    env.vault_secret(OTHER, "db", data=data)
    env.vault_secret(OTHER, "shared", connection=f"shared-{tag}",
                     kind="ClusterVaultConnection", data=data)  # fmt: skip
    env.namespace(TENANT)
    start_controller()
    env.wait_ready(OTHER, "db")
    env.wait_ready(OTHER, "shared")  # team-b's resolver for the cluster connection is cached
    before = snapshot(patternless)
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("traversal-to-team-b", {"connection": f"../../{OTHER}/vaultconnections/vault"},
         "InvalidSpec", "spec.connectionRef.name"),
        ("percent-encoded", {"connection": f"%2e%2e%2f%2e%2e%2f{OTHER}%2fvaultconnections%2fvault"},
         "InvalidSpec", "spec.connectionRef.name"),
        ("cluster-connection-traversal",
         {"connection": "../vaultconnections/vault", "kind": "ClusterVaultConnection"},
         "InvalidSpec", "spec.connectionRef.name"),
        ("cluster-connection-not-allowing-the-namespace",
         {"connection": f"shared-{tag}", "kind": "ClusterVaultConnection"},
         "Forbidden", "spec.connectionRef"),
    ]  # fmt: skip
    for index, (_, ref, _, _) in enumerate(cases):
        env.vault_secret(TENANT, f"borrow-{index}", data=data, **ref)
    for index, (case, _, reason, field) in enumerate(cases):
        condition = refused(env, f"borrow-{index}", reason, field)
        assert env.secret(TENANT, f"borrow-{index}") is None, case
        assert "team-b-" not in condition["message"], case
    assert changed_outside(before, patternless) == []


def test_another_teams_workload_is_not_restarted(
    env: Env, patternless: Cluster, start_controller: StartController
) -> None:
    """``rolloutRestartTargets[].name`` walking to team-b's Deployment: refused before anything
    is read or written; team-b's Deployment is never patched."""
    env.namespace(OTHER)
    env.kube.create(DEPLOYMENTS, OTHER, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "web"}]}}},
    })  # fmt: skip
    tag = secrets.token_hex(3)
    env.put(f"secret/roll-{tag}/db", {"password": f"roll-{secrets.token_hex(8)}"})
    env.bao.policy(f"roll-{tag}", f"secret/data/roll-{tag}/*")
    env.connection(TENANT, "vault", env.token_auth(TENANT, env.bao.new_token(f"roll-{tag}")))
    start_controller()
    before = snapshot(patternless)
    data = [{"key": "password", "ref": f"secret/roll-{tag}/db#password"}]
    cases = [
        ("traversal", f"../../{OTHER}/deployments/web"),
        ("percent-encoded", f"%2e%2e%2f%2e%2e%2f{OTHER}%2fdeployments%2fweb"),
        ("slash", f"{OTHER}/web"),
    ]
    for index, (_, name) in enumerate(cases):
        env.vault_secret(
            TENANT, f"roll-{index}", data=data,
            rolloutRestartTargets=[{"kind": "Deployment", "name": name}],
        )  # fmt: skip
    for index, (case, _) in enumerate(cases):
        refused(env, f"roll-{index}", "InvalidSpec", "spec.rolloutRestartTargets[0].name")
        assert env.secret(TENANT, f"roll-{index}") is None, case
    web = env.kube.get(DEPLOYMENTS, OTHER, "web")
    assert "sealops.dev/restartedAt" not in str(web)
    assert changed_outside(before, patternless) == []


def test_a_name_that_is_not_a_traversal_still_resolves_only_here(
    env: Env, patternless: Cluster, start_controller: StartController
) -> None:
    """Merge into ``db`` while team-b has a Secret ``db`` and the tenant none: the tenant is told
    its own namespace has none, as if team-b had none either; team-b's Secret is untouched."""
    victim = f"victim-{secrets.token_hex(8)}"
    env.credential(OTHER, "db", victim)
    tag = secrets.token_hex(3)
    env.put(f"secret/probe-{tag}/db", {"password": f"probe-{secrets.token_hex(8)}"})
    env.bao.policy(f"probe-{tag}", f"secret/data/probe-{tag}/*")
    env.connection(TENANT, "vault", env.token_auth(TENANT, env.bao.new_token(f"probe-{tag}")))
    start_controller()
    before = snapshot(patternless)
    data = [{"key": "password", "ref": f"secret/probe-{tag}/db#password"}]
    for name, target in (("db-probe", "db"), ("nothing-probe", "nothing-anywhere")):
        env.vault_secret(TENANT, name, data=data,
                         target={"name": target, "creationPolicy": "Merge"})  # fmt: skip
    there = env.wait_ready(TENANT, "db-probe", status="False", reason="UpdateFailed")
    nowhere = env.wait_ready(TENANT, "nothing-probe", status="False", reason="UpdateFailed")
    assert there["message"].replace(f"{TENANT}/db", "?") == nowhere["message"].replace(
        f"{TENANT}/nothing-anywhere", "?"
    )
    assert OTHER not in there["message"]
    assert base64.b64decode(env.kube.get(SECRETS, OTHER, "db")["data"]["value"]) == victim.encode()
    assert changed_outside(before, patternless) == []
